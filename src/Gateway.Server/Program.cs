using Gateway.Server.Cli;

return await GatewayCli.RunAsync(args, Console.Out, Console.Error, Console.In);

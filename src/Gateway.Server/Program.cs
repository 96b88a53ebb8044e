using Gateway.Server.Cli;
using Gateway.Server.Hosting;

// Before any socket exists: the runtime reads the switch once.
SocketCompletions.PreferInline();
return await GatewayCli.RunAsync(args, Console.Out, Console.Error, Console.In);

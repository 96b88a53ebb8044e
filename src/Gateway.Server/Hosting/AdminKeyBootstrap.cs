using Gateway.Core.Config;

namespace Gateway.Server.Hosting;

/// <summary>
/// A gateway never runs open by accident: when no key is configured at all, the first start creates
/// an admin key, keeps only its hash under the data folder, and prints the key once.
/// </summary>
internal static class AdminKeyBootstrap
{
    public const string FileName = "admin-key.sha256";

    /// <summary>The stored admin key hash (created now if needed), or null when keys are configured and none is stored.</summary>
    public static byte[]? Ensure(GatewayConfig config, string listenUrl, TextWriter banner)
    {
        string path = Path.Combine(config.Storage.DataDir, FileName);
        if (File.Exists(path))
        {
            string text = File.ReadAllText(path).Trim();
            if (!KeyHashing.TryParse(text, out var stored))
                throw new InvalidDataException($"{path}: expected \"sha256:<64 hex digits>\"; delete the file to create a new admin key");
            return stored;
        }
        if (config.MasterKeyHash is not null || config.Keys.Count > 0) return null;

        Directory.CreateDirectory(config.Storage.DataDir);
        string key = KeyHashing.NewKey("gw-admin-");
        var hash = KeyHashing.Hash(key);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new StreamWriter(path, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false), options)) file.WriteLine(KeyHashing.Format(hash));

        banner.WriteLine();
        banner.WriteLine("No gateway key was configured, so an admin key was created. It is shown only this once;");
        banner.WriteLine($"only its hash is kept, in {path}. Delete that file to revoke it.");
        banner.WriteLine();
        banner.WriteLine($"  key:  {key}");
        banner.WriteLine($"  try:  curl {listenUrl}/v1/chat/completions -H 'Authorization: Bearer {key}' -H 'content-type: application/json' \\");
        banner.WriteLine("          -d '{\"model\":\"mock/echo\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}'");
        banner.WriteLine();
        banner.Flush();
        return hash;
    }
}

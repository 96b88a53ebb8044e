using System.Reflection;
using Gateway.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Gateway.Storage.Migrations;

/// <summary>
/// The store's schema, forward only: each migration is an embedded <c>NNNN_name.sql</c>, applied in one
/// transaction together with the version it brings (SQLite's <c>user_version</c>). A database newer than
/// this build is refused rather than misread; an older one is brought up to date at start.
/// </summary>
public static class SchemaMigrations
{
    /// <summary>Every migration this build knows, in order: version, name, SQL.</summary>
    public static IReadOnlyList<(int Version, string Name, string Sql)> All { get; } = Load("Gateway.Storage.Migrations.");

    public static int Latest => All.Count == 0 ? 0 : All[^1].Version;

    /// <summary>The embedded <c>NNNN_name.sql</c> files under <paramref name="prefix"/>, in order, numbered from 1 without gaps.</summary>
    internal static List<(int, string, string)> Load(string prefix)
    {
        var assembly = typeof(SchemaMigrations).Assembly;
        var found = new List<(int, string, string)>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal)))
        {
            string name = resource[prefix.Length..^4];
            int version = int.Parse(name[..name.IndexOf('_')], System.Globalization.CultureInfo.InvariantCulture);
            using var stream = assembly.GetManifestResourceStream(resource)!;
            found.Add((version, name, new StreamReader(stream).ReadToEnd()));
        }
        found.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        for (int i = 0; i < found.Count; i++)
            if (found[i].Item1 != i + 1) throw new InvalidOperationException($"migration {found[i].Item2} is out of sequence: expected version {i + 1}");
        return found;
    }

    public static int CurrentVersion(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA user_version;";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Brings the database up to <paramref name="target"/> (the latest by default).</summary>
    /// <returns>The version before and after.</returns>
    /// <exception cref="StorageException">The database is newer than this build, or a migration failed (the database keeps its version).</exception>
    public static (int From, int To) Apply(SqliteDatabase database, int? target = null)
    {
        using var connection = database.Open();
        int from = CurrentVersion(connection), to = target ?? Latest;
        if (from > Latest)
            throw new StorageException($"the store {database.Path} has schema version {from}, newer than this gateway knows ({Latest}): run the newer gateway, or restore a backup");
        foreach (var (version, name, sql) in All)
        {
            if (version <= from || version > to) continue;
            using var transaction = connection.BeginTransaction();
            try
            {
                using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = sql + $"\nPRAGMA user_version = {version};";
                command.ExecuteNonQuery();
                transaction.Commit();
            }
            catch (SqliteException ex)
            {
                transaction.Rollback();
                throw new StorageException($"the store {database.Path}: migration {name} failed, the schema stays at version {version - 1}: {ex.Message}", ex);
            }
        }
        return (from, Math.Max(from, Math.Min(to, Latest)));
    }
}

import Crypto
import Foundation

/// One migration file, `NNNN_name.sql`.
public struct Migration: Sendable, Hashable {
    public let version: Int
    public let name: String
    public let sql: String
    /// SHA-256 of the file's bytes, hex encoded; an applied migration whose file changed is refused.
    public let checksum: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        self.checksum = SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Reads every `NNNN_name.sql` in `directory`, in version order. Other files are ignored; a malformed
    /// `.sql` name or two files with one version are errors.
    public static func load(from directory: URL) throws(MigrationError) -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw .directoryUnreadable(directory.path)
        }
        var migrations: [Migration] = []
        for file in names where file.hasSuffix(".sql") {
            let stem = file.dropLast(4)
            let parts = stem.split(separator: "_", maxSplits: 1)
            guard parts.count == 2, parts[0].count == 4, let version = Int(parts[0]), version > 0 else {
                throw .badFileName(file)
            }
            guard let sql = try? String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8) else {
                throw .directoryUnreadable(directory.appendingPathComponent(file).path)
            }
            migrations.append(Migration(version: version, name: String(parts[1]), sql: sql))
        }
        migrations.sort { $0.version < $1.version }
        for (a, b) in zip(migrations, migrations.dropFirst()) where a.version == b.version {
            throw .duplicateVersion(a.version)
        }
        return migrations
    }

    /// `SQL/migrations` of this source tree: the default when no directory is configured and the working
    /// directory has none (for example when tests run from elsewhere).
    public static func defaultDirectory(filePath: String = #filePath) -> URL {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("SQL/migrations")
        if FileManager.default.fileExists(atPath: cwd.path) { return cwd }
        return URL(fileURLWithPath: filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("SQL/migrations")
    }
}

public enum MigrationError: Error, Sendable, CustomStringConvertible {
    case directoryUnreadable(String)
    case badFileName(String)
    case duplicateVersion(Int)
    /// An applied migration's file changed since it was applied.
    case checksumMismatch(version: Int, name: String, applied: String, file: String)
    /// The database has a migration this build does not know (a newer build applied it).
    case unknownAppliedMigration(version: Int, name: String)
    /// A new file sorts before a migration that is already applied.
    case outOfOrder(version: Int, name: String, latestApplied: Int)
    case failed(version: Int, name: String, underlying: String)
    case database(String)

    public var description: String {
        switch self {
        case .directoryUnreadable(let path): "cannot read migrations from \(path)"
        case .badFileName(let name): "migration file \(name) is not named NNNN_name.sql"
        case .duplicateVersion(let version): "two migration files have version \(version)"
        case .checksumMismatch(let version, let name, let applied, let file):
            "migration \(String(format: "%04d", version))_\(name) was edited after it was applied "
                + "(applied checksum \(applied.prefix(12))…, file checksum \(file.prefix(12))…); "
                + "write a new migration instead of editing an applied one"
        case .unknownAppliedMigration(let version, let name):
            "the database has migration \(String(format: "%04d", version))_\(name), which this build does not have"
        case .outOfOrder(let version, let name, let latest):
            "migration \(String(format: "%04d", version))_\(name) is new but sorts before applied migration \(latest)"
        case .failed(let version, let name, let underlying):
            "migration \(String(format: "%04d", version))_\(name) failed and was rolled back: \(underlying)"
        case .database(let message): "migrations could not run: \(message)"
        }
    }
}

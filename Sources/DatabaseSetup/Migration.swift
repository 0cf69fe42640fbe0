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
}

/// One file of current definitions, `SQL/definitions/NNNN_name.sql`: functions, procedures, views and
/// policies written so that applying the file again is harmless (CREATE OR REPLACE, policies reset first).
/// Every file is re-applied, in name order, whenever one of them changed or a migration ran.
public struct Definition: Sendable, Hashable {
    /// The file name, e.g. `0005_parties.sql`.
    public let name: String
    public let sql: String
    public let checksum: String

    public init(name: String, sql: String) {
        self.name = name
        self.sql = sql
        self.checksum = SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// Everything that makes the schema: the ordered migrations (tables and data) and the current definitions.
public struct SchemaSource: Sendable {
    public var migrations: [Migration]
    public var definitions: [Definition]

    public init(migrations: [Migration], definitions: [Definition] = []) {
        self.migrations = migrations
        self.definitions = definitions
    }

    /// The highest migration version of this SQL: what a server shipped with it expects the database to be at.
    public var latestMigration: Int? { migrations.map(\.version).max() }

    /// Reads `migrations/` and `definitions/` of an `SQL` directory.
    public static func load(from directory: URL) throws(MigrationError) -> SchemaSource {
        let migrations = try Migration.load(from: directory.appendingPathComponent("migrations"))
        let folder = directory.appendingPathComponent("definitions")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else {
            throw .directoryUnreadable(folder.path)
        }
        var definitions: [Definition] = []
        for file in names.sorted() where file.hasSuffix(".sql") {
            guard let sql = try? String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8) else {
                throw .directoryUnreadable(folder.appendingPathComponent(file).path)
            }
            definitions.append(Definition(name: file, sql: sql))
        }
        return SchemaSource(migrations: migrations, definitions: definitions)
    }

    /// Where the `SQL` directory is, first match wins: `ENGAGEMENT_SQL_DIR`; `SQL` in the working directory (a
    /// source checkout: `swift run`, `swift test`); `../share/engagement-service/SQL` and `SQL` beside the
    /// executable (an installed build: copy the repository's `SQL` there, as the Docker image does).
    public static func defaultDirectory(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(MigrationError) -> URL {
        var candidates: [URL] = []
        if let configured = environment["ENGAGEMENT_SQL_DIR"], !configured.isEmpty {
            return URL(fileURLWithPath: configured)
        }
        candidates.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("SQL"))
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        candidates.append(executable.deletingLastPathComponent().appendingPathComponent("share/engagement-service/SQL"))
        candidates.append(executable.appendingPathComponent("SQL"))
        for candidate in candidates
        where FileManager.default.fileExists(atPath: candidate.appendingPathComponent("migrations").path) {
            return candidate
        }
        throw .notFound(candidates.map(\.path))
    }

    /// The schema of the default directory.
    public static func locate() throws(MigrationError) -> SchemaSource { try load(from: defaultDirectory()) }
}

public enum MigrationError: Error, Sendable, CustomStringConvertible {
    case directoryUnreadable(String)
    /// No SQL directory in any of these places.
    case notFound([String])
    /// A definitions file failed; the migration applied with it (if any) was rolled back too.
    case definitionFailed(name: String, underlying: String)
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
        case .notFound(let paths):
            "no SQL directory (with migrations/ and definitions/) found; looked in \(paths.joined(separator: ", ")); set ENGAGEMENT_SQL_DIR"
        case .definitionFailed(let name, let underlying):
            "definitions file \(name) failed and was rolled back (with the migration applied beside it): \(underlying)"
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

import Logging
import PostgresClient

/// Applies migrations in order, each in its own transaction, recording version, name and checksum in
/// `meta.schema_migrations`. Concurrent runs (two servers starting at once) are serialised by an advisory
/// lock held for the whole run.
public struct Migrator: Sendable {
    /// Advisory lock key: the bytes of "engmigr" as an integer, fixed so every instance agrees.
    static let advisoryLockKey: Int64 = 0x656E_676D_6967_72

    public let migrations: [Migration]
    public let logger: Logger

    public init(migrations: [Migration], logger: Logger = Logger(label: "migrations")) {
        self.migrations = migrations
        self.logger = logger
    }

    /// Applies what is pending and returns the versions applied now. Runs on the calling thread (blocking).
    @discardableResult
    public func migrate(_ connection: PostgresConnection) throws(MigrationError) -> [Int] {
        do throws(PostgresError) {
            try connection.query("SELECT pg_advisory_lock($1)", [Self.advisoryLockKey])
        } catch {
            throw .database(error.description)
        }
        defer { _ = try? connection.query("SELECT pg_advisory_unlock($1)", [Self.advisoryLockKey]) }

        let applied = try appliedMigrations(connection)
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        for row in applied {
            guard let migration = known[row.version] else {
                throw .unknownAppliedMigration(version: row.version, name: row.name)
            }
            guard migration.checksum == row.checksum else {
                throw .checksumMismatch(
                    version: row.version, name: row.name, applied: row.checksum, file: migration.checksum)
            }
        }
        let appliedVersions = Set(applied.map(\.version))
        let latest = applied.map(\.version).max() ?? 0
        let pending = migrations.filter { !appliedVersions.contains($0.version) }
        if let early = pending.first(where: { $0.version < latest }) {
            throw .outOfOrder(version: early.version, name: early.name, latestApplied: latest)
        }
        for migration in pending {
            try apply(migration, on: connection)
            logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
        }
        return pending.map(\.version)
    }

    /// Versions recorded in the database, in order.
    public func appliedMigrations(_ connection: PostgresConnection) throws(MigrationError)
        -> [(version: Int, name: String, checksum: String)]
    {
        do throws(PostgresError) {
            try connection.executeScript(
                """
                CREATE SCHEMA IF NOT EXISTS meta;
                REVOKE ALL ON SCHEMA meta FROM PUBLIC;
                CREATE TABLE IF NOT EXISTS meta.schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    applied_by text NOT NULL DEFAULT current_user
                );
                """)
            let result = try connection.query("SELECT version, name, checksum FROM meta.schema_migrations ORDER BY version")
            return (0..<result.rowCount).map {
                (result.int($0, 0) ?? 0, result.string($0, 1) ?? "", result.string($0, 2) ?? "")
            }
        } catch {
            throw .database(error.description)
        }
    }

    private func apply(_ migration: Migration, on connection: PostgresConnection) throws(MigrationError) {
        do throws(PostgresError) {
            try connection.executeScript("BEGIN")
            try connection.executeScript(migration.sql)
            try connection.query(
                "INSERT INTO meta.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                [migration.version, migration.name, migration.checksum])
            try connection.executeScript("COMMIT")
        } catch {
            _ = try? connection.executeScript("ROLLBACK")
            throw .failed(version: migration.version, name: migration.name, underlying: error.description)
        }
    }
}

import Logging
import PostgresClient

/// Applies migrations in order, each in its own transaction, recording version, name and checksum in
/// `meta.schema_migrations`; then re-applies the current definitions (`SQL/definitions`) when any of them
/// changed or a migration ran, inside the transaction of the last migration applied (or one of their own), so
/// the database never commits a migrated schema without its functions, views and policies. The definitions'
/// checksums are recorded in `meta.schema_definitions`. Concurrent runs (two servers starting at once) are
/// serialised by an advisory lock held for the whole run.
public struct Migrator: Sendable {
    /// Advisory lock key: the bytes of "engmigr" as an integer, fixed so every instance agrees.
    static let advisoryLockKey: Int64 = 0x656E_676D_6967_72

    public let migrations: [Migration]
    /// Empty: definitions are left as they are (tests that exercise migrations alone).
    public let definitions: [Definition]
    public let logger: Logger

    public init(migrations: [Migration], definitions: [Definition] = [], logger: Logger = Logger(label: "migrations")) {
        self.migrations = migrations
        self.definitions = definitions
        self.logger = logger
    }

    public init(_ schema: SchemaSource, logger: Logger = Logger(label: "migrations")) {
        self.init(migrations: schema.migrations, definitions: schema.definitions, logger: logger)
    }

    /// Applies what is pending and returns the versions applied now. Runs on the calling thread (blocking).
    @discardableResult
    public func migrate(_ connection: PostgresConnection) throws(MigrationError) -> [Int] {
        try locked(connection) { (statementByStatement) throws(MigrationError) -> [Int] in
            try migrateLocked(connection, statementByStatement: statementByStatement)
        }
    }

    private func migrateLocked(_ connection: PostgresConnection, statementByStatement: Bool) throws(MigrationError) -> [Int] {
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
        var definitionsNeeded = false
        if !definitions.isEmpty {
            let recorded = try appliedDefinitions(connection)
            definitionsNeeded = !pending.isEmpty || recorded != currentDefinitions
        }
        for (index, migration) in pending.enumerated() {
            let last = index == pending.count - 1
            try apply(migration, withDefinitions: last && definitionsNeeded, on: connection, statementByStatement: statementByStatement)
            logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
        }
        if pending.isEmpty, definitionsNeeded {
            try inTransaction(connection, failure: { .database($0) }) { () throws(MigrationError) in
                try applyDefinitions(on: connection, statementByStatement: statementByStatement)
            }
        }
        if definitionsNeeded { logger.info("applied definitions", metadata: ["files": "\(definitions.count)"]) }
        return pending.map(\.version)
    }

    /// Applies every definitions file again, whether or not one changed (after `engagementctl distribute`: objects
    /// made before the citus extension exist on the coordinator only, and re-creating them puts them on the workers).
    public func reapplyDefinitions(_ connection: PostgresConnection) throws(MigrationError) {
        try locked(connection) { (statementByStatement) throws(MigrationError) in
            try inTransaction(connection, failure: { .database($0) }) { () throws(MigrationError) in
                try applyDefinitions(on: connection, statementByStatement: statementByStatement)
            }
        }
        logger.info("applied definitions", metadata: ["files": "\(definitions.count)"])
    }

    /// Runs `body` holding the migration lock (concurrent runs wait), telling it whether scripts must go statement
    /// by statement: on a Citus coordinator, whose DDL forwarding needs one statement per text (`SQLStatements`).
    private func locked<T>(
        _ connection: PostgresConnection, _ body: (Bool) throws(MigrationError) -> T
    ) throws(MigrationError) -> T {
        let citus: Bool
        do throws(PostgresError) {
            try connection.query("SELECT pg_advisory_lock($1)", [Self.advisoryLockKey])
            citus = try connection.isCitus()
        } catch {
            throw .database(error.description)
        }
        defer { _ = try? connection.query("SELECT pg_advisory_unlock($1)", [Self.advisoryLockKey]) }
        return try body(citus)
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
                CREATE TABLE IF NOT EXISTS meta.schema_definitions (
                    name text PRIMARY KEY,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                );
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

    /// The definitions recorded in the database, by file name.
    public func appliedDefinitions(_ connection: PostgresConnection) throws(MigrationError) -> [String: String] {
        do throws(PostgresError) {
            let result = try connection.query("SELECT name, checksum FROM meta.schema_definitions")
            var applied: [String: String] = [:]
            for row in 0..<result.rowCount { applied[result.string(row, 0) ?? ""] = result.string(row, 1) ?? "" }
            return applied
        } catch {
            throw .database(error.description)
        }
    }

    private var currentDefinitions: [String: String] {
        Dictionary(uniqueKeysWithValues: definitions.map { ($0.name, $0.checksum) })
    }

    private func apply(
        _ migration: Migration, withDefinitions: Bool, on connection: PostgresConnection, statementByStatement: Bool
    ) throws(MigrationError) {
        try inTransaction(connection, failure: { .failed(version: migration.version, name: migration.name, underlying: $0) }) {
            () throws(MigrationError) in
            do throws(PostgresError) {
                try run(migration.sql, on: connection, statementByStatement: statementByStatement)
                try connection.query(
                    "INSERT INTO meta.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    [migration.version, migration.name, migration.checksum])
            } catch {
                throw .failed(version: migration.version, name: migration.name, underlying: error.description)
            }
            if withDefinitions { try applyDefinitions(on: connection, statementByStatement: statementByStatement) }
        }
    }

    /// Every definitions file in order, then their checksums; inside the caller's transaction.
    private func applyDefinitions(on connection: PostgresConnection, statementByStatement: Bool) throws(MigrationError) {
        // Re-applying prints a NOTICE per `DROP … IF EXISTS` that had nothing to drop; only warnings matter here.
        do throws(PostgresError) {
            try connection.executeScript("SET LOCAL client_min_messages = warning")
        } catch {
            throw .database(error.description)
        }
        for definition in definitions {
            do throws(PostgresError) {
                try run(definition.sql, on: connection, statementByStatement: statementByStatement)
            } catch {
                throw .definitionFailed(name: definition.name, underlying: error.description)
            }
        }
        do throws(PostgresError) {
            try connection.query("DELETE FROM meta.schema_definitions")
            for definition in definitions {
                try connection.query(
                    "INSERT INTO meta.schema_definitions (name, checksum) VALUES ($1, $2)", [definition.name, definition.checksum])
            }
        } catch {
            throw .database(error.description)
        }
    }

    /// A whole file in one go, or statement by statement (`SQLStatements`) on a Citus coordinator, which forwards some
    /// DDL to the shards with the text it was sent, which must then hold one statement.
    private func run(_ script: String, on connection: PostgresConnection, statementByStatement: Bool) throws(PostgresError) {
        guard statementByStatement else { return try connection.executeScript(script) }
        for statement in SQLStatements.split(script) { try connection.executeScript(statement) }
    }

    private func inTransaction(
        _ connection: PostgresConnection, failure: (String) -> MigrationError, _ body: () throws(MigrationError) -> Void
    ) throws(MigrationError) {
        do throws(PostgresError) {
            try connection.executeScript("BEGIN")
        } catch {
            throw failure(error.description)
        }
        do {
            try body()
            try connection.executeScript("COMMIT")
        } catch let error as MigrationError {
            _ = try? connection.executeScript("ROLLBACK")
            throw error
        } catch {
            _ = try? connection.executeScript("ROLLBACK")
            throw failure("\(error)")
        }
    }
}

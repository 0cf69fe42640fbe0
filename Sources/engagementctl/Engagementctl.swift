import ArgumentParser
import DatabaseSetup
import DevCertificates
import Foundation
import JSONRPC
import PostgresClient
import TenantAdministration

@main
struct Engagementctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engagementctl",
        abstract: "Administer engagement-service and call its methods.",
        subcommands: [Bootstrap.self, Migrate.self, Distribute.self, Certificates.self, Import.self, Export.self, Report.self, Org.self, Key.self, ReportingRoleCommand.self, Call.self, Events.self, Seed.self]
    )
}

/// Where the schema owner's database URL comes from: --database-url, ENGAGEMENT_OWNER_DATABASE_URL, or the
/// dev mode's connection.json.
struct OwnerDatabaseOptions: ParsableArguments {
    @Option(help: "URL of the schema owner (engagement_owner). Default: $ENGAGEMENT_OWNER_DATABASE_URL, else database_url of --connection-file.")
    var databaseURL: String?

    @Option(help: "The dev mode's connection file.")
    var connectionFile = ".dev/connection.json"

    func resolve() throws -> String {
        if let databaseURL { return databaseURL }
        if let url = ProcessInfo.processInfo.environment["ENGAGEMENT_OWNER_DATABASE_URL"] { return url }
        if let url = try? ConnectionFile.load(connectionFile).databaseURL { return url }
        throw ValidationError("no database URL: pass --database-url, set ENGAGEMENT_OWNER_DATABASE_URL, or run `engagementd dev` first")
    }

    func connect() throws -> PostgresConnection {
        do {
            return try PostgresConnection.connect(try resolve())
        } catch let error as PostgresError {
            throw ValidationError("cannot connect to PostgreSQL: \(error)")
        }
    }

    /// Runs `body` with an operator session on the owner's connection, closed afterwards.
    func withAdministrator<T>(_ body: (TenantAdministrator) throws -> T) throws -> T {
        let connection = try connect()
        defer { connection.close() }
        return try body(TenantAdministrator(owner: connection))
    }
}

/// Where the migrations and definitions come from (`bootstrap`, `migrate`, `distribute`).
struct SQLDirectoryOptions: ParsableArguments {
    @Option(help: "The SQL directory (migrations/ and definitions/; default: ENGAGEMENT_SQL_DIR, ./SQL, or beside the executable).")
    var sql: String?

    func load() throws -> SchemaSource {
        try SchemaSource.load(from: sql.map { URL(fileURLWithPath: $0) } ?? SchemaSource.defaultDirectory())
    }
}

struct Bootstrap: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One-time setup as a superuser: the owner role and database, migrations, and the application role's login.")

    @Option(help: "Superuser URL of the target cluster (database postgres).")
    var superuserURL: String

    @Option(help: "Name of the database to create.")
    var database = "engagement"

    @Option(help: "Password for engagement_owner (default: $ENGAGEMENT_OWNER_PASSWORD).")
    var ownerPassword: String?

    @Option(help: "Password for engagement_app (default: $ENGAGEMENT_APP_PASSWORD).")
    var appPassword: String?

    @OptionGroup var sql: SQLDirectoryOptions

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let ownerPassword = ownerPassword ?? environment["ENGAGEMENT_OWNER_PASSWORD"],
            let appPassword = appPassword ?? environment["ENGAGEMENT_APP_PASSWORD"]
        else { throw ValidationError("set --owner-password and --app-password (or their environment variables)") }
        let schema = try sql.load()
        let superuser = try PostgresConnection.connect(superuserURL)
        try DatabaseBootstrap.prepare(superuser: superuser, database: database, ownerPassword: ownerPassword)
        superuser.close()
        // The same server, as the owner, on the new database.
        let owner = try PostgresConnection.connect(
            superuserURL,
            overriding: ["dbname": database, "user": DatabaseBootstrap.ownerRole, "password": ownerPassword])
        defer { owner.close() }
        let applied = try Migrator(schema).migrate(owner)
        try DatabaseBootstrap.enableApplicationLogin(owner: owner, password: appPassword)
        print("database \(database): owner \(DatabaseBootstrap.ownerRole), \(applied.count) migrations applied, \(DatabaseBootstrap.applicationRole) may log in")
    }
}

/// A private CA and a server certificate signed by it, for trying a deployment (the compose file's `certs` job);
/// production uses certificates of the organisation's own CA.
struct Certificates: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Create (or keep) a private CA and a server certificate for the given host names in a directory.")

    @Option(help: "Where ca.pem, server.pem and server-key.pem go (the CA's key stays there too).")
    var directory: String

    @Option(name: .customLong("host"), help: "A DNS name the server is reached by (repeatable); localhost is always included.")
    var hosts: [String] = []

    func run() throws {
        let folder = URL(fileURLWithPath: directory)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let authority = try DevCertificateAuthority.loadOrCreate(in: folder)
        let issued = try authority.serverCertificate(in: folder, hostNames: hosts)
        print("CA \(authority.certificateFile.path); server certificate \(issued.certificate.path) for \((hosts + ["localhost"]).joined(separator: ", "))")
    }
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending migrations (as the schema owner).")

    @OptionGroup var database: OwnerDatabaseOptions

    @OptionGroup var sql: SQLDirectoryOptions

    @Option(help: "Also let engagement_app log in with this password (default: $ENGAGEMENT_APP_PASSWORD, if set).")
    var appPassword: String?

    func run() throws {
        let schema = try sql.load()
        let connection = try database.connect()
        defer { connection.close() }
        let applied = try Migrator(schema).migrate(connection)
        print(applied.isEmpty ? "up to date (\(schema.migrations.count) migrations)" : "applied \(applied.map { String(format: "%04d", $0) }.joined(separator: ", "))")
        if let password = appPassword ?? ProcessInfo.processInfo.environment["ENGAGEMENT_APP_PASSWORD"] {
            try DatabaseBootstrap.enableApplicationLogin(owner: connection, password: password)
            print("\(DatabaseBootstrap.applicationRole) may log in")
        }
    }
}

/// The distribution step onto Citus (docs/scaling.md): run once on the coordinator after `bootstrap`, with the
/// workers added; re-runnable.
struct Distribute: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make every table a Citus table as planned (by organisation, co-located; reference; local), as a superuser on the coordinator.")

    @Option(help: "URL of a superuser on the service's database on the coordinator (Citus creates schemas and roles on the workers).")
    var superuserURL: String

    @OptionGroup var sql: SQLDirectoryOptions

    @Option(help: "Shards of the organisations' co-location group (Citus's shard_count).")
    var shardCount = 32

    @Flag(help: "Only report what would stop the plan (runs on plain PostgreSQL too); exit 1 when anything does.")
    var check = false

    func run() throws {
        let connection = try PostgresConnection.connect(superuserURL)
        defer { connection.close() }
        let problems = try Distribution.problems(connection)
        for problem in problems { print(problem) }
        guard problems.isEmpty else { throw ExitCode.failure }
        if check { return print("every table distributes as planned") }
        let schema = try sql.load()
        let placement = try Distribution.distribute(connection, schema: schema, shardCount: shardCount)
        print("distributed by organisation: \(placement.distributed) tables, reference: \(placement.reference), local to the coordinator: \(placement.local)")
    }
}

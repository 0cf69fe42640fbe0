import ArgumentParser
import DatabaseSetup
import DevEnvironment
import EngagementService
import Foundation
import Logging
import NIOPosix
import ServiceLifecycle

@main
struct Engagementd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engagementd",
        abstract: "The engagement-service daemon: a TLS, line-delimited JSON-RPC 2.0 server over PostgreSQL.",
        subcommands: [Serve.self, Dev.self, Docs.self],
        defaultSubcommand: Serve.self
    )
}

/// Runs the application until SIGTERM or SIGINT, then shuts down gracefully.
func runUntilSignalled(_ application: EngagementApplication, logger: Logger) async throws {
    let group = ServiceGroup(
        configuration: .init(
            services: application.services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
    try await group.run()
}

func makeLogger(level: String) -> Logger {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = Logger.Level(rawValue: level) ?? .info
        return handler
    }
    return Logger(label: "engagementd")
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve with configuration from ENGAGEMENT_* environment variables (see the README).")

    func run() async throws {
        let configuration: ServerConfiguration
        do {
            configuration = try ServerConfiguration.fromEnvironment(ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError("\(error)")
        }
        let logger = makeLogger(level: configuration.logLevel)
        let application = try await EngagementApplication.start(configuration: configuration, logger: logger)
        try await runUntilSignalled(application, logger: logger)
    }
}

struct Dev: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole service locally on a private PostgreSQL cluster under ./.dev (created on first run).")

    @Option(help: "Directory for the cluster, certificates and connection.json.")
    var directory = ".dev"

    @Option(help: "TLS port of the server (0: any free port).")
    var port = 7443

    @Option(help: "The SQL directory (migrations/ and definitions/; default: ENGAGEMENT_SQL_DIR, ./SQL, or beside the executable).")
    var sql: String?

    @Option(help: "Log level.")
    var logLevel = "info"

    func run() async throws {
        let logger = makeLogger(level: logLevel)
        let directoryURL = URL(fileURLWithPath: directory).standardizedFileURL
        let schema = try SchemaSource.load(from: sql.map { URL(fileURLWithPath: $0) } ?? SchemaSource.defaultDirectory())
        let environment = try DevEnvironment.prepare(directory: directoryURL, schema: schema, logger: logger)
        var configuration = ServerConfiguration()
        configuration.port = port
        configuration.certificateFile = environment.serverCertificate.certificate.path
        configuration.privateKeyFile = environment.serverCertificate.privateKey.path
        configuration.databaseURL = try environment.deployment.applicationURL
        configuration.logLevel = logLevel
        // Tuning variables (ENGAGEMENT_MAX_CONNECTIONS, ENGAGEMENT_DB_POOL_SIZE, …) apply in dev mode too; the
        // address, TLS files and database stay the dev environment's.
        var environmentVariables = ProcessInfo.processInfo.environment
        for fixed in ["ENGAGEMENT_HOST", "ENGAGEMENT_PORT", "ENGAGEMENT_TLS_CERT", "ENGAGEMENT_TLS_KEY", "ENGAGEMENT_DATABASE_URL"] {
            environmentVariables[fixed] = nil
        }
        configuration = try ServerConfiguration.fromEnvironment(environmentVariables, base: configuration)
        let application: EngagementApplication
        do {
            application = try await EngagementApplication.start(configuration: configuration, logger: logger)
        } catch {
            try? environment.stopDatabase()
            throw error
        }
        try environment.writeConnectionFile(host: configuration.host, port: application.server.port)
        printWelcome(environment, port: application.server.port)
        do {
            try await runUntilSignalled(application, logger: logger)
        } catch {
            try? environment.stopDatabase()
            throw error
        }
        logger.info("stopping the private PostgreSQL")
        try environment.stopDatabase()
    }

    private func printWelcome(_ environment: DevEnvironment, port: Int) {
        let first = environment.organisations.first
        let text = """

            engagement-service is running (dev mode)
              JSON-RPC over TLS:  127.0.0.1:\(port)   (CA: \(environment.caFile.path))
              PostgreSQL:         \(environment.cluster.url(user: "engagement_owner", password: "…", database: DevEnvironment.databaseName))
              connection file:    \(environment.connectionFile.path)
              demo organisations: \(environment.organisations.map(\.name).joined(separator: ", "))

            Try it:
              swift run engagementctl call system.ping
              swift run engagementctl call session.whoami
              swift run engagementctl call rpc.discover
              printf '%s\\n' '{"jsonrpc":"2.0","method":"session.authenticate","params":{"api_key":"\(first?.apiKey ?? "…")"},"id":1}' \\
                '{"jsonrpc":"2.0","method":"session.whoami","id":2}' \\
                | openssl s_client -quiet -no_ign_eof -verify_return_error -CAfile \(environment.caFile.path) -connect 127.0.0.1:\(port)

            Ctrl-C stops the server and its PostgreSQL.

            """
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

struct Docs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check (default) or rewrite the README's and the protocol reference's generated tables (run in the repository).")

    @Flag(help: "Rewrite the tables instead of checking them.")
    var write = false

    func run() throws {
        var stale: [String] = []
        for section in ReferenceTables.sections {
            let document = try String(contentsOfFile: section.document, encoding: .utf8)
            guard let updated = ReferenceTables.splice(document, name: section.name, content: section.render()) else {
                throw ValidationError("\(section.document) has no <!-- generated:\(section.name) --> markers")
            }
            guard updated != document else { continue }
            if write {
                try updated.write(toFile: section.document, atomically: true, encoding: .utf8)
                print("rewrote \(section.name) in \(section.document)")
            } else {
                stale.append("\(section.document) (\(section.name))")
            }
        }
        if !stale.isEmpty { throw ValidationError("out of date: \(stale.joined(separator: ", ")); run engagementd docs --write") }
    }
}

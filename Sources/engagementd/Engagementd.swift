import ArgumentParser
import DatabaseSetup
import DevEnvironment
import EngagementService
import Foundation
import JSONRPC
import Logging
import Monitoring
import NIOPosix
import ServiceLifecycle

@main
struct Engagementd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engagementd",
        abstract: "The engagement-service daemon: a TLS, line-delimited JSON-RPC 2.0 server over PostgreSQL.",
        subcommands: [Serve.self, Dev.self, Docs.self, OpenRPC.self],
        defaultSubcommand: Serve.self
    )
}

/// Runs the application until SIGTERM or SIGINT, then shuts down gracefully. The trace export (when on) starts
/// first and so stops last, after the server has drained: the spans of the last calls are exported too.
func runUntilSignalled(_ application: EngagementApplication, traces: (any Service)?, logger: Logger) async throws {
    let group = ServiceGroup(
        configuration: .init(
            services: ((traces.map { [$0] } ?? []) + application.services).map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
    try await group.run()
}

/// The process's logger. Inside a traced call (`ENGAGEMENT_TRACING`) its lines carry the span's `trace_id` and
/// `span_id`; otherwise the metadata provider adds nothing.
func makeLogger(level: String, format: String = "text") -> Logger {
    let level = Logger.Level(rawValue: level) ?? .info
    LoggingSystem.bootstrap({ label, metadataProvider in
        if format == "json" { return JSONLogHandler(label: label, level: level, metadataProvider: metadataProvider) }
        var handler = StreamLogHandler.standardError(label: label, metadataProvider: metadataProvider)
        handler.logLevel = level
        return handler
    }, metadataProvider: TraceExport.loggingMetadata)
    return Logger(label: "engagementd")
}

/// The trace export's service when `configuration` turns tracing on (`TraceExport`); nil otherwise.
func traceExport(_ configuration: ServerConfiguration, logger: Logger) throws -> (any Service)? {
    guard configuration.tracing else { return nil }
    do {
        return try TraceExport.bootstrap(environment: ProcessInfo.processInfo.environment, logger: logger)
    } catch {
        throw ValidationError("ENGAGEMENT_TRACING=otlp, but the OpenTelemetry configuration is not usable: \(error)")
    }
}

/// The highest migration of the SQL this server was shipped with, for the start-up and readiness checks; nil
/// (with a warning) where no SQL directory is found.
func shippedSchemaVersion(_ sql: String?, logger: Logger) -> Int? {
    do {
        let directory = try sql.map { URL(fileURLWithPath: $0) } ?? SchemaSource.defaultDirectory()
        return try SchemaSource.load(from: directory).latestMigration
    } catch {
        logger.warning("no SQL directory found: the schema version is not checked", metadata: ["error": "\(error)"])
        return nil
    }
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
        let logger = makeLogger(level: configuration.logLevel, format: configuration.logFormat)
        var checked = configuration
        checked.expectedSchemaVersion = shippedSchemaVersion(nil, logger: logger)
        let traces = try traceExport(configuration, logger: logger)
        let application: EngagementApplication
        do {
            application = try await EngagementApplication.start(configuration: checked, logger: logger)
        } catch let error as SchemaTooNew {
            logger.critical("not starting", metadata: ["reason": "\(error)"])
            throw ExitCode(78)  // EX_CONFIG
        }
        try await runUntilSignalled(application, traces: traces, logger: logger)
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

    @Option(help: "Port of the monitoring endpoint: /metrics, /healthz, /readyz (0: any free port).")
    var metricsPort = 9464

    @Option(help: "Log level.")
    var logLevel = "info"

    @Option(help: "Log format: text or json.")
    var logFormat = "text"

    func run() async throws {
        let logger = makeLogger(level: logLevel, format: logFormat)
        let directoryURL = URL(fileURLWithPath: directory).standardizedFileURL
        let schema = try SchemaSource.load(from: sql.map { URL(fileURLWithPath: $0) } ?? SchemaSource.defaultDirectory())
        let environment = try DevEnvironment.prepare(directory: directoryURL, schema: schema, logger: logger)
        var configuration = ServerConfiguration()
        configuration.port = port
        configuration.certificateFile = environment.serverCertificate.certificate.path
        configuration.privateKeyFile = environment.serverCertificate.privateKey.path
        configuration.databaseURL = try environment.deployment.applicationURL
        configuration.logLevel = logLevel
        configuration.logFormat = logFormat
        configuration.metricsPort = metricsPort
        configuration.expectedSchemaVersion = schema.latestMigration
        // Tuning variables (ENGAGEMENT_MAX_CONNECTIONS, ENGAGEMENT_DB_POOL_SIZE, …) apply in dev mode too; the
        // address, TLS files and database stay the dev environment's.
        var environmentVariables = ProcessInfo.processInfo.environment
        for fixed in [
            "ENGAGEMENT_HOST", "ENGAGEMENT_PORT", "ENGAGEMENT_TLS_CERT", "ENGAGEMENT_TLS_KEY", "ENGAGEMENT_DATABASE_URL",
            "ENGAGEMENT_METRICS_HOST", "ENGAGEMENT_METRICS_PORT",
        ] {
            environmentVariables[fixed] = nil
        }
        configuration = try ServerConfiguration.fromEnvironment(environmentVariables, base: configuration)
        let traces = try traceExport(configuration, logger: logger)
        let application: EngagementApplication
        do {
            application = try await EngagementApplication.start(configuration: configuration, logger: logger)
        } catch {
            try? environment.stopDatabase()
            throw error
        }
        let metricsURL = application.monitoring.map { "http://\(configuration.metricsHost):\($0.port)/metrics" }
        try environment.writeConnectionFile(host: configuration.host, port: application.server.port, metricsURL: metricsURL)
        printWelcome(environment, port: application.server.port, metricsURL: metricsURL)
        do {
            try await runUntilSignalled(application, traces: traces, logger: logger)
        } catch {
            try? environment.stopDatabase()
            throw error
        }
        logger.info("stopping the private PostgreSQL")
        try environment.stopDatabase()
    }

    private func printWelcome(_ environment: DevEnvironment, port: Int, metricsURL: String?) {
        let first = environment.organisations.first
        let text = """

            engagement-service is running (dev mode)
              JSON-RPC over TLS:  127.0.0.1:\(port)   (CA: \(environment.caFile.path))
              PostgreSQL:         \(environment.cluster.url(user: "engagement_owner", password: "…", database: DevEnvironment.databaseName))
              connection file:    \(environment.connectionFile.path)
              metrics, health:    \(metricsURL ?? "off")  (and /healthz, /readyz)
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

struct OpenRPC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "openrpc",
        abstract: "Print the OpenRPC document of every method (what rpc.discover answers), e.g. for clients/python/generate.py.")

    func run() throws {
        FileHandle.standardOutput.write(Data(JSONWriter.encode(OpenRPCDocument.render(.standard())) + [0x0A]))
    }
}

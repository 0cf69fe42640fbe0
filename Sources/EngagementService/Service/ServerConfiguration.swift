import Foundation
import Logging
import PostgresClient
import RPCTransport

/// Everything the server can be configured with. `engagementd serve` reads it from `ENGAGEMENT_*`
/// environment variables (see `ServerConfiguration.options`; the README's table is checked against them by a
/// test); `engagementd dev` fills it in itself. The transport's part (address, TLS, limits) is
/// `transport`, whose fields read and write as if they were this struct's own (`configuration.port = 0`).
@dynamicMemberLookup
public struct ServerConfiguration: Sendable {
    public var transport = TransportConfiguration()
    /// URL or conninfo of the server's login role (`engagement_app`).
    public var databaseURL = ""
    /// Where the notification listeners connect (LISTEN needs a session of its own: behind a transaction-pooling
    /// pgbouncer, PostgreSQL itself); nil: `databaseURL`.
    public var databaseListenURL: String? = nil
    /// A streaming replica that answers the reports while its lag is within `replicaMaximumLag` (`ReplicaRoute`).
    public var replicaDatabaseURL: String? = nil
    public var replicaMaximumLag: Duration = .seconds(5)
    /// Named prepared statements on the pool's connections; off behind pgbouncer < 1.21 in transaction mode.
    public var preparedStatements = true
    public var databasePoolSize = 10
    public var databaseAcquireTimeout: Duration = .seconds(5)
    public var statementTimeout: Duration = .seconds(30)
    public var logLevel = "info"
    /// `text` (swift-log's default lines) or `json` (one object a line, `JSONLogHandler`).
    public var logFormat = "text"
    /// The monitoring endpoint (`/metrics`, `/healthz`, `/readyz`; plain HTTP, keep it private); nil port: off.
    public var metricsHost = "127.0.0.1"
    public var metricsPort: Int? = 9464
    /// A span per call and per database round trip, exported by OTLP (`TraceExport`, `CallTracing`); off: no span.
    public var tracing = false
    /// The highest migration this server was shipped with (from its SQL directory). Start-up refuses a database
    /// whose schema is newer; `/readyz` is not ready while it is older. nil: not checked. Not an environment option.
    public var expectedSchemaVersion: Int? = nil
    /// How often time-driven risk rules (decay, freshness) are evaluated; zero turns the sweep off.
    public var maintenanceInterval: Duration = .seconds(900)
    /// How long after the first write of a burst an organisation's maintained rollups are refreshed; zero: only periodically.
    public var rollupDebounce: Duration = .milliseconds(500)
    /// How often the trigger worker looks for due firings besides being notified (retries come due with time);
    /// zero turns the worker off.
    public var triggerPollInterval: Duration = .seconds(5)

    /// Every result is checked against its method's declared schema (a mismatch answers -32603). For tests;
    /// not an environment option.
    public var checksResultSchemas = false
    /// Failed authentications allowed per minute before backing off (AuthenticationThrottle).
    public var authenticationFailuresPerConnection = 3
    public var authenticationFailuresPerAddress = 10

    /// Fairness between organisations: the share of the database pool one organisation's calls may hold at
    /// once while another organisation is active (OrganisationShareStateMachine; alone it may hold all but an
    /// eighth of the pool), the database time its calls may use meanwhile (milliseconds of connection time a
    /// second, `DatabaseTimeBudget`; 0: no limit), and its request budget (calls a second; 0: none).
    public var poolSharePercent = 25
    public var organisationDatabaseMillisecondsPerSecond = 250
    public var organisationRequestsPerSecond = 0

    /// The database pool's configuration for `conninfo` (the primary, or the replica): the session settings the
    /// server relies on, the pool size and timeout.
    public func pool(_ conninfo: String) -> ConnectionPool.Configuration {
        let timeoutMilliseconds = Int(statementTimeout.milliseconds)
        return .init(
            conninfo: conninfo, maximumConnections: databasePoolSize, acquireTimeout: databaseAcquireTimeout,
            connectionSetup: [
                "SET application_name = 'engagementd'",
                "SET statement_timeout = \(timeoutMilliseconds)",
                "SET idle_in_transaction_session_timeout = \(timeoutMilliseconds)",
            ],
            preparedStatements: preparedStatements)
    }

    /// Database connections of the background work (rollup refreshes, maintenance sweeps, trigger firings), a pool
    /// of their own: a job never holds a connection the organisations' calls share. A refresh round and a sweep
    /// may each take minutes on a large database, so three; the replica heartbeat has one more of its own, so its
    /// 500 ms stamp never waits behind them.
    public static let backgroundConnections = 3

    /// A pool for background work: `connections` of its own, set up as the calls' are, and a long wait for one
    /// (jobs can wait for each other).
    public func backgroundPool(_ conninfo: String, connections: Int = backgroundConnections) -> ConnectionPool.Configuration {
        var configuration = pool(conninfo)
        configuration.maximumConnections = connections
        configuration.acquireTimeout = .seconds(60)
        configuration.connectionSetup[0] = "SET application_name = 'engagementd background'"
        return configuration
    }

    /// Connections of the pool one organisation may hold under contention: its share, at least one.
    public var connectionsPerOrganisation: Int { max(1, databasePoolSize * poolSharePercent / 100) }

    /// The database time one organisation may use while another is active; nil: no limit.
    public var organisationDatabaseTime: DatabaseTimeBudget? {
        organisationDatabaseMillisecondsPerSecond > 0
            ? DatabaseTimeBudget(perSecond: .milliseconds(organisationDatabaseMillisecondsPerSecond)) : nil
    }

    /// The throttle these settings describe.
    public var authenticationThrottle: AuthenticationThrottle {
        AuthenticationThrottle(
            perConnection: .init(burst: authenticationFailuresPerConnection, window: .seconds(60)),
            perAddress: .init(burst: authenticationFailuresPerAddress, window: .seconds(60)))
    }

    public init() {}

    public subscript<Value>(dynamicMember keyPath: WritableKeyPath<TransportConfiguration, Value>) -> Value {
        get { transport[keyPath: keyPath] }
        set { transport[keyPath: keyPath] = newValue }
    }

    /// One configurable option: its environment variable, default and meaning (the README's table is checked
    /// against these).
    public struct Option: Sendable {
        public let variable: String
        public let defaultValue: String
        public let summary: String
        let apply: @Sendable (inout ServerConfiguration, String) -> Bool
    }

    public enum Failure: Error, CustomStringConvertible {
        case invalid(variable: String, value: String)
        case missing(String)
        case unknown(variable: String, suggestion: String?)
        public var description: String {
            switch self {
            case .unknown(let variable, let suggestion):
                "\(variable) is not a setting of engagementd" + (suggestion.map { " (did you mean \($0)?)" } ?? "")
                    + "; the settings are listed in the README"
            case .invalid(let variable, let value): "\(variable)=\(value) is not valid"
            case .missing(let variable): "\(variable) must be set"
            }
        }
    }

    public static let options: [Option] = [
        Option(variable: "ENGAGEMENT_HOST", defaultValue: "127.0.0.1", summary: "address to listen on") {
            $0.host = $1; return true
        },
        Option(variable: "ENGAGEMENT_PORT", defaultValue: "7443", summary: "TLS port to listen on (0: any free port)") {
            guard let v = Int($1), (0...65535).contains(v) else { return false }
            $0.port = v; return true
        },
        Option(variable: "ENGAGEMENT_TLS_CERT", defaultValue: "(required)", summary: "PEM file with the server certificate chain") {
            $0.certificateFile = $1; return true
        },
        Option(variable: "ENGAGEMENT_TLS_KEY", defaultValue: "(required)", summary: "PEM file with the server private key") {
            $0.privateKeyFile = $1; return true
        },
        Option(variable: "ENGAGEMENT_TLS_CLIENT_CA", defaultValue: "(unset: no client certificates)",
               summary: "PEM CA file; when set, clients must present a certificate it signed (mutual TLS)") {
            $0.clientCAFile = $1.isEmpty ? nil : $1; return true
        },
        Option(variable: "ENGAGEMENT_DATABASE_URL", defaultValue: "(required)",
               summary: "libpq URL or conninfo of the `engagement_app` login role; `sslmode` etc. as libpq documents") {
            $0.databaseURL = $1; return true
        },
        Option(variable: "ENGAGEMENT_DATABASE_LISTEN_URL", defaultValue: "(ENGAGEMENT_DATABASE_URL)",
               summary: "where the LISTEN connections go (rollups, triggers, events); set it to PostgreSQL itself when ENGAGEMENT_DATABASE_URL is a transaction-pooling pgbouncer") {
            $0.databaseListenURL = $1.isEmpty ? nil : $1; return true
        },
        Option(variable: "ENGAGEMENT_DB_PREPARED_STATEMENTS", defaultValue: "on",
               summary: "`on`: named prepared statements per connection; `off` behind pgbouncer before 1.21 in transaction mode (docs/scaling.md)") {
            guard ["on", "off"].contains($1) else { return false }
            $0.preparedStatements = $1 == "on"; return true
        },
        Option(variable: "ENGAGEMENT_REPLICA_DATABASE_URL", defaultValue: "(unset: no replica)",
               summary: "a streaming replica of the database (the `engagement_app` role): the reports (`report.*`) read there while it is fresh enough, and say so (`served_by`); start-up refuses a primary here") {
            $0.replicaDatabaseURL = $1.isEmpty ? nil : $1; return true
        },
        Option(variable: "ENGAGEMENT_REPLICA_MAX_LAG_MS", defaultValue: "5000",
               summary: "how far behind the replica may be (the age of the primary's heartbeat, stamped every 500 ms, as replayed there) for a report to read there; beyond it the primary answers") {
            guard let v = Int($1), v >= 1000 else { return false }
            $0.replicaMaximumLag = .milliseconds(v); return true
        },
        Option(variable: "ENGAGEMENT_DB_POOL_SIZE", defaultValue: "10", summary: "database connections for calls (shared fairly between organisations); background work has 3 more, the replica heartbeat 1, each LISTEN (rollups, triggers, events) 1") {
            guard let v = Int($1), v > 0 else { return false }
            $0.databasePoolSize = v; return true
        },
        Option(variable: "ENGAGEMENT_DB_ACQUIRE_TIMEOUT_MS", defaultValue: "5000",
               summary: "longest wait for a free database connection before -32005") {
            guard let v = Int($1), v > 0 else { return false }
            $0.databaseAcquireTimeout = .milliseconds(v); return true
        },
        Option(variable: "ENGAGEMENT_STATEMENT_TIMEOUT_MS", defaultValue: "30000", summary: "PostgreSQL statement_timeout of the server's sessions") {
            guard let v = Int($1), v > 0 else { return false }
            $0.statementTimeout = .milliseconds(v); return true
        },
        Option(variable: "ENGAGEMENT_MAX_LINE_BYTES", defaultValue: "1048576", summary: "longest accepted request line; longer gets -32600 and a close") {
            guard let v = Int($1), v >= 1024 else { return false }
            $0.maximumLineBytes = v; return true
        },
        Option(variable: "ENGAGEMENT_MAX_BATCH", defaultValue: "100", summary: "most requests in one batch") {
            guard let v = Int($1), v > 0 else { return false }
            $0.maximumBatchSize = v; return true
        },
        Option(variable: "ENGAGEMENT_MAX_CONNECTIONS", defaultValue: "1024", summary: "most concurrent client connections; more get -32005 and a close") {
            guard let v = Int($1), v > 0 else { return false }
            $0.maximumConnections = v; return true
        },
        Option(variable: "ENGAGEMENT_MAX_IN_FLIGHT", defaultValue: "32",
               summary: "most requests executing at once per connection; beyond it the server stops reading (back-pressure)") {
            guard let v = Int($1), v > 0 else { return false }
            $0.maximumInFlightPerConnection = v; return true
        },
        Option(variable: "ENGAGEMENT_HANDSHAKE_TIMEOUT_MS", defaultValue: "10000", summary: "time allowed to complete the TLS handshake") {
            guard let v = Int($1), v > 0 else { return false }
            $0.handshakeTimeout = .milliseconds(v); return true
        },
        Option(variable: "ENGAGEMENT_IDLE_TIMEOUT_MS", defaultValue: "300000", summary: "a connection with nothing in flight and nothing received for this long is closed") {
            guard let v = Int($1), v > 0 else { return false }
            $0.idleTimeout = .milliseconds(v); return true
        },
        Option(variable: "ENGAGEMENT_MAINTENANCE_INTERVAL_S", defaultValue: "900",
               summary: "seconds between sweeps of time-driven risk rules (health decay, freshness), trigger events (contract ends, overdue items) and renewals coming due; 0: off") {
            guard let v = Int($1), v >= 0 else { return false }
            $0.maintenanceInterval = .seconds(v); return true
        },
        Option(variable: "ENGAGEMENT_ROLLUP_DEBOUNCE_MS", defaultValue: "500",
               summary: "refresh an organisation's rollups this long after the first write of a burst there; 0: only with the maintenance sweep") {
            guard let v = Int($1), v >= 0 else { return false }
            $0.rollupDebounce = .milliseconds(v); return true
        },
        Option(variable: "ENGAGEMENT_TRIGGER_POLL_MS", defaultValue: "5000",
               summary: "the trigger worker performs due firings when notified and at least this often (retries); 0: off") {
            guard let v = Int($1), v >= 0 else { return false }
            $0.triggerPollInterval = .milliseconds(v); return true
        },
        Option(variable: "ENGAGEMENT_AUTH_FAILURES_PER_CONNECTION", defaultValue: "3",
               summary: "failed session.authenticate attempts a connection may make in a minute; then it backs off (1 s, doubling to 5 min)") {
            guard let v = Int($1), v > 0 else { return false }
            $0.authenticationFailuresPerConnection = v; return true
        },
        Option(variable: "ENGAGEMENT_AUTH_FAILURES_PER_ADDRESS", defaultValue: "10",
               summary: "failed session.authenticate attempts a source address may make in a minute; then it backs off likewise") {
            guard let v = Int($1), v > 0 else { return false }
            $0.authenticationFailuresPerAddress = v; return true
        },
        Option(variable: "ENGAGEMENT_POOL_SHARE_PERCENT", defaultValue: "25",
               summary: "share of the database pool one organisation's calls may hold while another is active (at least one connection; alone: all but an eighth); freed connections go to the organisation holding fewest") {
            guard let v = Int($1), (1...100).contains(v) else { return false }
            $0.poolSharePercent = v; return true
        },
        Option(variable: "ENGAGEMENT_ORG_DATABASE_MS_PER_SECOND", defaultValue: "250",
               summary: "database time one organisation's calls may use while another is active, milliseconds of connection time a second (saving up a quarter second's worth); over it they wait; 0: no limit. Sized for a 2-core database host (Benchmarks/README.md, \"Fairness\"): raise it with the cores") {
            guard let v = Int($1), v >= 0 else { return false }
            $0.organisationDatabaseMillisecondsPerSecond = v; return true
        },
        Option(variable: "ENGAGEMENT_ORG_REQUESTS_PER_SECOND", defaultValue: "0",
               summary: "each organisation's request budget, calls a second (bursts of twice as many); beyond it a call waits for its token up to 2 s, then -32005 rate_limited; 0: none") {
            guard let v = Int($1), v >= 0 else { return false }
            $0.organisationRequestsPerSecond = v; return true
        },
        Option(variable: "ENGAGEMENT_LOG_LEVEL", defaultValue: "info", summary: "trace, debug, info, notice, warning, error or critical") {
            guard Logger.Level(rawValue: $1) != nil else { return false }
            $0.logLevel = $1; return true
        },
        Option(variable: "ENGAGEMENT_LOG_FORMAT", defaultValue: "text",
               summary: "`text`, or `json`: one JSON object a line with the call's `request` id, also the `application_name` of its database transaction") {
            guard ["text", "json"].contains($1) else { return false }
            $0.logFormat = $1; return true
        },
        Option(variable: "ENGAGEMENT_METRICS_HOST", defaultValue: "127.0.0.1",
               summary: "address of the plain-HTTP monitoring endpoint (`/metrics`, `/healthz`, `/readyz`); keep it on a private network") {
            $0.metricsHost = $1; return true
        },
        Option(variable: "ENGAGEMENT_METRICS_PORT", defaultValue: "9464", summary: "port of the monitoring endpoint (0: any free port; `off`: none)") {
            if $1 == "off" { $0.metricsPort = nil; return true }
            guard let v = Int($1), (0...65535).contains(v) else { return false }
            $0.metricsPort = v; return true
        },
        Option(variable: "ENGAGEMENT_TRACING", defaultValue: "off",
               summary: "`otlp`: a span per call and per database round trip, exported by OpenTelemetry's OTLP/HTTP; endpoint, `http/protobuf` or `http/json`, sampler and service name from the standard `OTEL_*` variables (docs/operations.md, \"Tracing\"); `off`: none") {
            guard ["off", "otlp"].contains($1) else { return false }
            $0.tracing = $1 == "otlp"; return true
        },
    ]

    /// `ENGAGEMENT_*` variables that are not server settings but belong to the other tools of the same
    /// deployment (`engagementctl`, the SQL directory), so a shared environment does not trip the unknown check.
    public static let otherToolsVariables: Set<String> = [
        "ENGAGEMENT_SQL_DIR", "ENGAGEMENT_OWNER_DATABASE_URL", "ENGAGEMENT_OWNER_PASSWORD", "ENGAGEMENT_APP_PASSWORD",
        "ENGAGEMENT_API_KEY",
    ]

    /// Every `ENGAGEMENT_*` variable a deployment may set: the settings and the other tools' variables.
    public static let knownVariables = Set(options.map(\.variable)).union(otherToolsVariables)

    /// Reads every option present in `environment`; fails on an invalid value, a missing required one, or an
    /// `ENGAGEMENT_*` variable that is no setting (a typo would otherwise be silently ignored).
    public static func fromEnvironment(_ environment: [String: String], base: ServerConfiguration = .init()) throws
        -> ServerConfiguration
    {
        for variable in environment.keys.sorted() where variable.hasPrefix("ENGAGEMENT_") && !knownVariables.contains(variable) {
            throw Failure.unknown(variable: variable, suggestion: closest(to: variable, among: knownVariables))
        }
        var configuration = base
        for option in options {
            guard let value = environment[option.variable] else { continue }
            guard option.apply(&configuration, value) else { throw Failure.invalid(variable: option.variable, value: value) }
        }
        if configuration.certificateFile.isEmpty { throw Failure.missing("ENGAGEMENT_TLS_CERT") }
        if configuration.privateKeyFile.isEmpty { throw Failure.missing("ENGAGEMENT_TLS_KEY") }
        if configuration.databaseURL.isEmpty { throw Failure.missing("ENGAGEMENT_DATABASE_URL") }
        return configuration
    }
}

extension ServerConfiguration {
    /// The known variable within two edits of a misspelt one, if any.
    static func closest(to variable: String, among known: Set<String>) -> String? {
        known.map { ($0, editDistance(Array(variable), Array($0))) }.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }?.0
    }

    private static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}

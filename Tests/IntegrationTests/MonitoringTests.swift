import EngagementService
import Foundation
import JSONRPC
import Logging
import Monitoring
import PostgresClient
import Synchronization
import Testing

/// The monitoring endpoint (`/metrics` parsed by prometheus_client's text parser, `/healthz`, `/readyz`), the
/// schema checks at start-up and in readiness, and the request id carried into PostgreSQL.
@Suite("Monitoring")
struct MonitoringTests {
    @Test("/metrics parses as Prometheus text and counts calls by method and outcome, the pool, connections and failed TLS handshakes")
    func metrics() async throws {
        let server = try await ServerFixture.start("monitoring-metrics")
        try await server.scoped {
            let url = try metricsURL(server)
            let client = try await server.session(server.orgA)
            for _ in 0..<3 { #expect(try await client.call("system.ping")["result"] != nil) }
            #expect(try await client.call("party.get", ["id": "00000000-0000-4000-8000-000000000000"]).errorCode == -32003)
            #expect(try await client.call("no.such_method").errorCode == -32601)
            // A connection that is not TLS: the handshake fails.
            #expect(try await RawSocket.sendAndWaitForClose(port: server.port, bytes: Array("GET / HTTP/1.0\r\n\r\n".utf8), within: .seconds(5)))
            var scraped = try await HTTPProbe.metrics(url)
            for _ in 0..<50 where scraped.value("engagement_tls_handshake_failures_total", ["reason": "error"]) == nil {
                try await Task.sleep(for: .milliseconds(100))
                scraped = try await HTTPProbe.metrics(url)
            }
            #expect(scraped.status == 200)
            #expect(scraped.contentType.hasPrefix("text/plain; version=0.0.4"))
            #expect(scraped.value("engagement_rpc_calls_total", ["method": "system.ping", "outcome": "ok"]) == 3)
            #expect(scraped.value("engagement_rpc_calls_total", ["method": "party.get", "outcome": "-32003"]) == 1)
            #expect(scraped.value("engagement_rpc_calls_total", ["method": "(unknown)", "outcome": "-32601"]) == 1,
                    "unknown methods share one label: a client cannot grow the metric set")
            #expect(scraped.value("engagement_rpc_duration_seconds_count", ["method": "system.ping"]) == 3)
            #expect(scraped.families["engagement_rpc_duration_seconds"]?.type == "histogram")
            #expect(scraped.value("engagement_db_pool_max_connections", [:]) == 4)
            let open = try #require(scraped.value("engagement_db_pool_connections", [:]))
            #expect(open >= 1 && open <= 4, "party.get used a database connection")
            #expect(try #require(scraped.value("engagement_db_pool_wait_seconds_count", [:])) >= 1)
            #expect(try #require(scraped.value("engagement_client_connections", [:])) >= 1, "the client is connected")
            #expect(try #require(scraped.value("engagement_tls_handshake_failures_total", ["reason": "error"])) >= 1)
            #expect(scraped.families["engagement_rpc_calls"]?.help.isEmpty == false, "every metric has its help text")
            // docs/operations.md lists every metric (prometheus_client names counter families without `_total`).
            let operations = try String(contentsOfFile: "docs/operations.md", encoding: .utf8)
            for family in scraped.families.keys where family.hasPrefix("engagement_") {
                let listed = operations.contains("`\(family)`") || operations.contains("`\(family)_total`")
                #expect(listed, "docs/operations.md does not list \(family)")
            }
            #expect(scraped.families.count >= 12)
        }
    }

    @Test("/healthz answers; /readyz is ready on a current schema, not ready with pending migrations or no database; 404 and 405 elsewhere")
    func healthAndReadiness() async throws {
        let deployment = try await TestCluster.shared.deployment("monitoring-ready")
        let applied = try #require(try PostgresConnection.connect(try deployment.ownerURL).query(
            "SELECT max(version) FROM meta.schema_migrations").int(0, 0))
        let server = try await ServerFixture.start("monitoring-ready", deployment: deployment) { configuration in
            configuration.expectedSchemaVersion = applied
        }
        try await server.scoped {
            let base = try metricsURL(server).replacingOccurrences(of: "/metrics", with: "")
            let health = try await HTTPProbe.get(base + "/healthz")
            #expect(health.status == 200 && health.body.contains(#""status":"ok""#))
            let ready = try await HTTPProbe.get(base + "/readyz")
            #expect(ready.status == 200 && ready.body.contains(#""ready":true"#), "\(ready.body)")
            #expect(try await HTTPProbe.get(base + "/nothing").status == 404)
            #expect(try await HTTPProbe.get(base + "/metrics", method: "post").status == 405)
            #expect(try await HTTPProbe.get(base + "/metrics?x=1").status == 200, "a query string does not change the path")
        }
        // The same database, a server shipped with one migration more: served, not ready.
        let ahead = try await ServerFixture.start("monitoring-pending", deployment: deployment) { configuration in
            configuration.expectedSchemaVersion = 10_000
        }
        try await ahead.scoped {
            let pending = try await HTTPProbe.get(try metricsURL(ahead).replacingOccurrences(of: "/metrics", with: "/readyz"))
            #expect(pending.status == 503 && pending.body.contains(#""reason":"migrations_pending""#), "\(pending.body)")
            #expect(pending.body.contains("10000"))
            // A schema from before app.schema_version() existed reads as migration 0: pending, not unreachable.
            let owner = try ahead.ownerConnection()
            defer { owner.close() }
            _ = try owner.query("DROP FUNCTION app.schema_version()")
            let older = try await HTTPProbe.get(try metricsURL(ahead).replacingOccurrences(of: "/metrics", with: "/readyz"))
            #expect(older.status == 503 && older.body.contains(#""reason":"migrations_pending""#), "\(older.body)")
            #expect(older.body.contains("schema at migration 0"), "\(older.body)")
        }
        // No database: ready never, healthy still.
        var configuration = try ServerFixture.configuration(
            for: try await TestCluster.shared.deployment("monitoring-nodb"), base: try await TestCluster.shared.base())
        configuration.databaseURL = "host=127.0.0.1 port=1 dbname=none user=none connect_timeout=2"
        let application = try await EngagementApplication.start(configuration: configuration, logger: .init(label: "test"))
        let base = "http://127.0.0.1:\(try #require(application.monitoring).port)"
        let unreachable = try await HTTPProbe.get(base + "/readyz")
        #expect(unreachable.status == 503 && unreachable.body.contains(#""reason":"database_unreachable""#), "\(unreachable.body)")
        #expect(!unreachable.body.contains("port=1"), "no connection string in the reply")
        #expect(try await HTTPProbe.get(base + "/healthz").status == 200)
        application.server.shutdown()
        await application.pool.shutdown()
        await application.monitoring?.close()
    }

    @Test("a server refuses to start against a schema newer than it knows, before listening")
    func schemaTooNew() async throws {
        let deployment = try await TestCluster.shared.deployment("monitoring-newer")
        var configuration = try ServerFixture.configuration(for: deployment, base: try await TestCluster.shared.base())
        let applied = try #require(try PostgresConnection.connect(try deployment.ownerURL).query(
            "SELECT max(version) FROM meta.schema_migrations").int(0, 0))
        configuration.expectedSchemaVersion = applied - 1
        do {
            _ = try await EngagementApplication.start(configuration: configuration, logger: .init(label: "test"))
            Issue.record("started against a newer schema")
        } catch let error as SchemaTooNew {
            #expect(error.applied == applied && error.expected == applied - 1)
            #expect(error.description.contains("newer than this server knows"))
        }
    }

    @Test("a call's transaction carries its request id as application_name")
    func requestIDInDatabase() async throws {
        let server = try await ServerFixture.start("monitoring-request-id", registry: TestMethods.registry)
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let name = try #require(try await client.call("test.application_name")["result"]?.stringValue)
            #expect(name.wholeMatch(of: #/engagementd c\d+-r\d+/#) != nil, "\(name)")
            // Outside a call the connection is back to the pool's own name.
            #expect(try await client.call("test.application_name")["result"]?.stringValue != name, "a new request id each call")
        }
    }

    @Test("an ENGAGEMENT_ variable that is no setting stops start-up with the setting it resembles; the other tools' variables pass")
    func unknownSetting() throws {
        let required = ["ENGAGEMENT_TLS_CERT": "c", "ENGAGEMENT_TLS_KEY": "k", "ENGAGEMENT_DATABASE_URL": "host=x"]
        do {
            _ = try ServerConfiguration.fromEnvironment(required.merging(["ENGAGEMENT_DB_POOLSIZE": "20"]) { $1 })
            Issue.record("a misspelt setting was ignored")
        } catch let failure as ServerConfiguration.Failure {
            #expect(failure.description.contains("ENGAGEMENT_DB_POOLSIZE is not a setting"))
            #expect(failure.description.contains("did you mean ENGAGEMENT_DB_POOL_SIZE?"), "\(failure)")
        }
        let shared = required.merging(["ENGAGEMENT_SQL_DIR": "/sql", "ENGAGEMENT_API_KEY": "k", "PATH": "/bin"]) { $1 }
        #expect(try ServerConfiguration.fromEnvironment(shared).databaseURL == "host=x")
        #expect(throws: ServerConfiguration.Failure.self) {
            try ServerConfiguration.fromEnvironment(required.merging(["ENGAGEMENT_LOG_FORMAT": "xml"]) { $1 })
        }
        #expect(try ServerConfiguration.fromEnvironment(required.merging(["ENGAGEMENT_METRICS_PORT": "off"]) { $1 }).metricsPort == nil)
    }

    @Test("a JSON log line is one object: time, level, logger, message first, metadata as members, everything escaped")
    func jsonLogLine() throws {
        let lines = Mutex<[[UInt8]]>([])
        var handler = JSONLogHandler(label: "engagementd", level: .debug) { line in lines.withLock { $0.append(line) } }
        handler[metadataKey: "request"] = "c3-r7"
        let logger = Logger(label: "engagementd") { _ in handler }
        logger.error("call \"failed\"\nbadly", metadata: ["message": "shadowed", "ids": .array(["a", "b"]), "ms": "12"])
        logger.trace("below the level")
        let written = lines.withLock { $0 }
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(line.last == 0x0A && line.dropLast().firstIndex(of: 0x0A) == nil, "one line")
        let object = try JSONParser.parse(Array(line.dropLast()))
        #expect(object.objectValue?.keys.prefix(4) == ["time", "level", "logger", "message"])
        #expect(object["level"]?.stringValue == "error")
        #expect(object["message"]?.stringValue == "call \"failed\"\nbadly")
        #expect(object["meta_message"]?.stringValue == "shadowed")
        #expect(object["request"]?.stringValue == "c3-r7")
        #expect(object["ids"] == ["a", "b"])
        #expect(object["time"]?.stringValue?.hasSuffix("Z") == true)
    }

    private func metricsURL(_ server: ServerFixture) throws -> String {
        "http://127.0.0.1:\(try #require(server.application.monitoring).port)/metrics"
    }
}

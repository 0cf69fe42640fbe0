import DatabaseSetup
import DevEnvironment
import EngagementClient
import EngagementService
import Foundation
import JSONRPC
import LocalPostgres
import Logging
import PostgresClient
import ServiceLifecycle
import Testing

@Suite("Shutdown and dev mode")
struct LifecycleTests {
    @Test("graceful shutdown answers the calls in flight, then stops accepting connections")
    func gracefulShutdown() async throws {
        var traceLogger = Logger(label: "shutdown-test")
        traceLogger.logLevel = .trace
        let server = try await ServerFixture.start("shutdown", registry: TestMethods.registry, logger: traceLogger)
        // The call waits in PostgreSQL for a lock the test holds: in flight when the shutdown begins, and finishing
        // only after (the order is the test's, not the machine's load).
        let lockKey = 17_018
        let holder = try server.holdLock(lockKey)
        defer { holder.close() }
        let client = try await server.connect()
        #expect(try await client.call("system.ping")["result"] != nil)
        try await client.send(line: #"{"jsonrpc":"2.0","method":"test.wait_for_lock","params":{"key":\#(lockKey)},"id":"slow"}"#)
        try await server.waitForLockWaiters(atLeast: 1)
        let stopping = Task { try await server.stop() }
        try await server.waitUntilRefusingConnections()
        _ = try holder.query("SELECT pg_advisory_unlock($1::bigint)", [lockKey])
        let reply = try #require(try await client.nextMessage(timeout: .seconds(10)))
        #expect(reply["id"] == "slow")
        #expect(reply["result"] == true, "the in-flight call completed: \(JSONWriter.string(reply))")
        #expect(try await client.nextLine(timeout: .seconds(5)) == nil, "then the connection closed")
        try await stopping.value
        let refused = try? await server.connect().call("system.ping", timeout: .seconds(2))
        #expect(refused == nil, "no longer accepting")
        #expect(await server.application.pool.statistics.open == 0, "the pool is closed")
    }

    @Test("calls sent before the shutdown but not yet read get the retry-later error, never a bare EOF")
    func gracefulShutdownRefusesUnreadCalls() async throws {
        let server = try await ServerFixture.start("shutdown-unread", registry: TestMethods.registry) {
            $0.maximumInFlightPerConnection = 2
        }
        // The first burst's calls wait for an advisory lock the test holds, so nothing finishes until the test says
        // so: the order of events is the test's, not the machine's load (fixed pauses failed beside the whole suite).
        let lockKey = 17_017
        let holder = try server.holdLock(lockKey)
        defer { holder.close() }
        let client = try await server.connect()
        func burst(_ ids: Range<Int>) -> String {
            ids.map { #"{"jsonrpc":"2.0","method":"test.wait_for_lock","params":{"key":\#(lockKey)},"id":\#($0)}"# }
                .joined(separator: "\n")
        }
        try await client.send(line: burst(0..<40))
        // Two calls wait for the lock and the rest of what was read waits for a slot: the server holds its reads,
        // so the second burst stays in the socket, sent but unread, when the shutdown begins.
        try await server.waitForLockWaiters(atLeast: 2)
        try await client.send(line: burst(40..<80))
        let stopping = Task { try await server.stop() }
        // Shutting down, the server reads on and refuses what it had not read, while the calls it had still wait.
        var answered: [Int: JSONValue] = [:]
        while !Set(40..<80).isSubset(of: answered.keys) {
            let reply = try #require(try await client.nextMessage(timeout: .seconds(20)), "refusals: \(answered.keys.sorted())")
            answered[try #require(reply["id"]?.intValue)] = reply
        }
        #expect(answered.values.allSatisfy { $0.errorCode == -32006 && $0.errorReason == "shutting_down" },
                "only refusals while the lock is held: \(answered.values.map { JSONWriter.string($0) })")
        _ = try holder.query("SELECT pg_advisory_unlock($1::bigint)", [lockKey])
        while let reply = try await client.nextMessage(timeout: .seconds(20)) {
            answered[try #require(reply["id"]?.intValue)] = reply
        }
        try await stopping.value
        #expect(Set(answered.keys) == Set(0..<80), "every call sent gets a reply: \(80 - answered.count) missing")
        let done = answered.filter { $0.value["result"] == true }.keys
        #expect(done.contains(0) && done.contains(1), "the calls in flight when the shutdown began completed")
        #expect(answered.values.allSatisfy { $0["result"] == true || $0.errorReason == "shutting_down" })
    }

    @Test("graceful shutdown also answers calls received but still waiting for a slot, and closes idle connections")
    func gracefulShutdownAnswersWaitingCalls() async throws {
        let server = try await ServerFixture.start("shutdown-waiting", registry: TestMethods.registry) {
            $0.maximumInFlightPerConnection = 1
        }
        let lockKey = 17_019
        let holder = try server.holdLock(lockKey)
        defer { holder.close() }
        let busy = try await server.connect()
        let idle = try await server.connect()
        #expect(try await idle.call("system.ping")["result"] != nil)
        // One line, three calls: the first runs (waiting for the test's lock), the other two wait for the single slot.
        try await busy.send(line: [
            #"{"jsonrpc":"2.0","method":"test.wait_for_lock","params":{"key":\#(lockKey)},"id":1}"#,
            #"{"jsonrpc":"2.0","method":"system.ping","id":2}"#,
            #"{"jsonrpc":"2.0","method":"system.ping","id":3}"#,
        ].joined(separator: "\n"))
        try await server.waitForLockWaiters(atLeast: 1)  // the first runs, so all three were read
        let stopping = Task { try await server.stop() }
        try await server.waitUntilRefusingConnections()
        _ = try holder.query("SELECT pg_advisory_unlock($1::bigint)", [lockKey])
        var ids: [Int] = []
        for _ in 0..<3 {
            let reply = try #require(try await busy.nextMessage(timeout: .seconds(10)))
            #expect(reply["result"] != nil, "\(JSONWriter.string(reply))")
            ids.append(try #require(reply["id"]?.intValue))
        }
        #expect(ids == [1, 2, 3], "with one slot the calls ran in order")
        #expect(try await busy.nextLine(timeout: .seconds(5)) == nil, "then the connection closed")
        #expect(try await idle.nextLine(timeout: .seconds(5)) == nil, "the idle connection was closed too")
        try await stopping.value
        #expect(server.application.server.connectionCount == 0)
    }

    @Test("the dev environment is created once and reused: same cluster, organisations and keys")
    func devEnvironmentReuse() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("engagement-dev-\(randomToken(bytes: 4))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let logger = Logger(label: "dev-test")
        let first = try DevEnvironment.prepare(directory: directory, schema: TestCluster.schema, logger: logger)
        try first.writeConnectionFile(host: "127.0.0.1", port: 1)
        try first.stopDatabase()
        let second = try DevEnvironment.prepare(directory: directory, schema: TestCluster.schema, logger: logger)
        defer { try? second.stopDatabase() }
        #expect(second.organisations.map(\.id) == first.organisations.map(\.id))
        #expect(second.organisations.map(\.apiKey) == first.organisations.map(\.apiKey))
        #expect(second.organisations.count == 2)

        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.metricsPort = 0
        configuration.certificateFile = second.serverCertificate.certificate.path
        configuration.privateKeyFile = second.serverCertificate.privateKey.path
        configuration.databaseURL = try second.deployment.applicationURL
        let application = try await EngagementApplication.start(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(services: application.services.map { .init(service: $0) }, logger: logger))
        let running = Task { try await group.run() }
        try second.writeConnectionFile(host: "127.0.0.1", port: application.server.port)
        let file = try JSONParser.parse(Array(try Data(contentsOf: second.connectionFile)))
        #expect(file["port"]?.intValue == application.server.port)
        #expect(file["ca_file"]?.stringValue?.hasPrefix("/") == true)
        #expect(file["database_url"]?.stringValue?.hasPrefix("postgresql://") == true)
        let organisations = try #require(file["organisations"]?.arrayValue)
        #expect(organisations.count == 2)

        let client = try await RPCConnection.connect(
            host: "127.0.0.1", port: application.server.port, tls: ClientTLS(caFile: try #require(file["ca_file"]?.stringValue)))
        for organisation in organisations {
            let key = try #require(organisation["api_key"])
            #expect(try await client.call("session.authenticate", ["api_key": key])["result"]?["organisation_id"] == organisation["id"])
            #expect(try await client.call("session.whoami")["result"]?["organisation"]?["name"] == organisation["name"])
            // Demo data, once per organisation (the second prepare did not add more).
            let engagements = try #require(try await client.call("engagement.list", ["include_archived": true])["result"]?["items"]?.arrayValue)
            #expect(Set(engagements.compactMap { $0["status"]?.stringValue }) == ["draft", "active", "on_hold", "completed"])
            #expect(engagements.count == 11)
            let parent = try #require(engagements.first { $0["code"] == "KEY-ACCOUNT" })
            #expect(parent["children_count"] == 3, "one account, three products")
            let rollup = try #require(try await client.call("engagement.rollup", ["id": parent["id"]!])["result"])
            #expect(rollup["engagements"] == 4 && rollup["contract_value"]?["EUR"] == .number("480000.00"), "\(JSONWriter.string(rollup))")
            #expect(rollup["health"]?["by_band"]?["green"] == 1 && rollup["health"]?["by_band"]?["amber"] == 1)
            // The organisation's DBA login from connection.json sees its own organisation.
            let reporting = try PostgresConnection.connect(try #require(organisation["reporting"]?["database_url"]?.stringValue))
            #expect(try reporting.query("SELECT name FROM organisation").string(0, 0) == organisation["name"]?.stringValue)
            #expect(try reporting.query("SELECT count(*) FROM engagements").int(0, 0) == 11)
            #expect(try reporting.query("SELECT count(*) FROM engagement_tree WHERE root_code = 'KEY-ACCOUNT'").int(0, 0) == 4)
            // A year of check-ins with scores in every band, and risks raised by rules.
            #expect(try reporting.query("SELECT count(*) FROM check_ins").int(0, 0) == 36 + 9)
            let bands = try reporting.query(
                "SELECT engagement_code, band FROM health_history WHERE period = '2025-12-01' ORDER BY engagement_code")
            #expect((0..<bands.rowCount).map { "\(bands.string($0, 0)!)=\(bands.string($0, 1)!)" }
                    == ["KEY-MITS-2025=green", "KEY-SECURITY=amber", "NW-MITS-2025=red"])
            #expect(try reporting.query("SELECT band FROM health_history WHERE engagement_code = 'KEY-SECURITY' AND period = '2025-01-01'").string(0, 0) == "green")
            let rules = try reporting.query(
                "SELECT engagement_code || ':' || rule_name FROM risk_signals WHERE source = 'rule' AND status = 'open' ORDER BY 1")
            #expect((0..<rules.rowCount).compactMap { rules.string($0, 0) }
                    == ["CF-SECURITY:Low DLP adoption", "KEY-SECURITY:Cost overrun", "KEY-SECURITY:Low DLP adoption",
                        "NW-MITS-2025:Cost overrun", "NW-MITS-2025:Health turned red", "NW-MITS-2025:Unhappy customer"])
            #expect(try reporting.query("SELECT count(DISTINCT party_name) FROM showback_hours WHERE engagement_code = 'KEY-MITS-2025'").int(0, 0) == 2)
            // A year of history on the timeline, and the rule that starts remediation when health turns red.
            let struggling = try #require(engagements.first { $0["code"] == "NW-MITS-2025" })
            let history = try #require(try await client.call("timeline.list", [
                "engagement_id": struggling["id"]!, "types": ["check_in"], "order": "asc", "limit": 20])["result"]?["items"]?.arrayValue)
            #expect(history.count == 12 && history.first?["occurred_at"]?.stringValue?.hasPrefix("2025-02-03") == true,
                    "\(history.first.map(JSONWriter.string) ?? "")")
            let firings = try #require(try await client.call("trigger.firings", ["engagement_id": struggling["id"]!])["result"]?["items"]?.arrayValue)
            #expect(firings.map { $0["event"] } == ["health_band"], "January turned red, once")
            // CloudFirst: three products under one account, each with its blueprint applied; the parent's rollup
            // shows the work by type and stage, and the security suite's low adoption.
            let cloudFirst = try #require(engagements.first { $0["code"] == "CF-ACCOUNT" })
            #expect(cloudFirst["children_count"] == 3)
            let work = try #require(try await client.call("engagement.rollup", ["id": cloudFirst["id"]!, "fresh": true])["result"]?["work"])
            #expect(work["objectives"]?["by_status"]?["at_risk"] == 2 && work["objectives"]?["by_status"]?["achieved"] == 1, "\(JSONWriter.string(work))")
            #expect(work["initiatives"]?["by_type_and_stage"]?["onboarding"]?["done"] == 1
                    && work["initiatives"]?["by_type_and_stage"]?["onboarding"]?["in_progress"] == 1)
            #expect(work["playbook_tasks"]?["running_playbooks"] == 1 && work["action_items"]?["open"] == 3)
            let adoption = try #require(work["adoption"]?.arrayValue)
            #expect(adoption.count == 3)
            func score(_ product: JSONValue) -> Double {
                if case .number(let text)? = product["adoption_score"] { return Double(text) ?? 0 }
                return 0
            }
            let lowest = adoption.min { score($0) < score($1) }
            #expect(lowest?["product"] == "Security Suite")
            #expect(try reporting.query("SELECT count(*) FROM blueprint_applications WHERE engagement_code LIKE 'CF-%'").int(0, 0) == 3)
            #expect(try reporting.query("SELECT band FROM health_history WHERE engagement_code = 'CF-SECURITY' AND period = '2026-11-01'").string(0, 0) == "amber",
                    "scored by the onboarding stage's adoption model")
            // The pipeline: a won opportunity that created its engagement, one open, one lost.
            let pipeline = try reporting.query("SELECT title, outcome, coalesce(engagement_code, '') FROM opportunities ORDER BY title")
            #expect((0..<pipeline.rowCount).map { "\(pipeline.string($0, 0)!):\(pipeline.string($0, 1)!):\(pipeline.string($0, 2)!)" }
                    == ["CloudFirst data platform migration:won:CF-MIGRATION", "CloudFirst managed SOC:open:",
                        "CloudFirst on-site support:lost:", "Renewal: CloudFirst platform services 2026:open:"])
            #expect(try reporting.query("SELECT count(*) FROM opportunity_stage_changes").int(0, 0) == 4 + 1 + 2 + 1)
            let renewal = try reporting.query(
                "SELECT renewal_state, signal_raised_at IS NOT NULL, opportunity_stage FROM renewals WHERE contract_reference = 'CF-2026-001'")
            #expect(renewal.string(0, 0) == "pending" && renewal.string(0, 1) == "t" && renewal.string(0, 2) == "qualifying")
            // Did we deliver? The 0.5 FTE clause: September and November met, October not; the runbook on time.
            let fte = try reporting.query("""
                SELECT to_char(period_start, 'YYYY-MM') || ' ' || status FROM commitment_fulfilment
                WHERE commitment_title = 'Half a service manager' AND period_start < '2026-12-01' ORDER BY period_start
                """)
            #expect((0..<fte.rowCount).compactMap { fte.string($0, 0) } == ["2026-09 fulfilled", "2026-10 lapsed", "2026-11 fulfilled"])
            #expect(try reporting.query("SELECT status FROM commitments WHERE title = 'Backup runbook'").string(0, 0) == "fulfilled")
            // The platform's availability SLA: breached in October only; 25 % of 240,000 × 31/365 capped at 15 %.
            let sla = try reporting.query("""
                SELECT to_char(period_start, 'YYYY-MM') || ' ' || status || ' ' || credit FROM sla_results
                WHERE contract_reference = 'CF-2026-001' ORDER BY period_start
                """)
            #expect((0..<sla.rowCount).compactMap { sla.string($0, 0) } == ["2026-09 met 0.00", "2026-10 breached 3057.53", "2026-11 met 0.00"])
            reporting.close()
        }
        await group.triggerGracefulShutdown()
        try await running.value
    }
}

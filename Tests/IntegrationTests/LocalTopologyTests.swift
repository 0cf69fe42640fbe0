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

/// Docker/compose.yaml's topology with local processes (no Docker engine runs here): a PostgreSQL primary, a
/// streaming replica made by `pg_basebackup -R`, pgbouncer in transaction mode configured from
/// Docker/pgbouncer/pgbouncer.ini, and two servers behind it with the compose file's settings. End to end: a
/// write through one server is read through the other, pushed to a subscriber of the other (LISTEN goes to the
/// primary directly), and read by the organisation's reporting login on the replica, which sees nothing of another
/// organisation's.
@Suite("Local topology")
struct LocalTopologyTests {
    struct Topology {
        let primary: LocalCluster
        let replica: LocalCluster
        let bouncer: LocalPgbouncer
        let deployment: LocalDeployment
        let servers: [EngagementApplication]
        let groups: [ServiceGroup]
        let running: [Task<Void, any Error>]
        let orgA: ServerFixture.Organisation
        let orgB: ServerFixture.Organisation
        let caFile: URL

        func session(_ server: Int, _ organisation: ServerFixture.Organisation) async throws -> RPCConnection {
            let client = try await RPCConnection.connect(host: "127.0.0.1", port: servers[server].server.port, tls: ClientTLS(caFile: caFile.path))
            let reply = try await client.call("session.authenticate", ["api_key": .string(organisation.apiKey)])
            guard reply["result"] != nil else { throw FixtureError.authenticationFailed(JSONWriter.string(reply)) }
            return client
        }

        func stop() async throws {
            for group in groups { await group.triggerGracefulShutdown() }
            for task in running { try await task.value }
            try? bouncer.stop()
            try? replica.stop()
            try? primary.stop()
        }
    }

    static func start(
        configure: (inout ServerConfiguration, _ server: Int, _ primary: LocalCluster, _ replica: LocalCluster) -> Void = { _, _, _, _ in }
    ) async throws -> Topology {
        let base = try await TestCluster.shared.base()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("engagement-topology-\(randomToken(bytes: 4))")
        registerCleanup { try? FileManager.default.removeItem(at: directory) }
        let (primary, deployment) = try PrivateCluster.start(
            in: directory.appendingPathComponent("primary"), database: "engagement", label: "topology")
        let (orgA, orgB) = try ServerFixture.seedOrganisations(deployment)
        var replica = try primary.makeReplica(at: directory.appendingPathComponent("replica"))
        try replica.start()
        let startedReplica = replica
        registerCleanup { try? startedReplica.stop() }
        let bouncer = try LocalPgbouncer.start(
            template: try String(contentsOfFile: "Docker/pgbouncer/pgbouncer.ini", encoding: .utf8),
            in: directory.appendingPathComponent("pgbouncer"), postgresPort: primary.port, database: "engagement",
            users: [("engagement_app", TestCluster.applicationPassword)])
        registerCleanup { try? bouncer.stop() }
        var servers: [EngagementApplication] = []
        var groups: [ServiceGroup] = []
        var running: [Task<Void, any Error>] = []
        for index in 0..<2 {
            var configuration = try ServerFixture.configuration(for: deployment, base: base)
            // As in Docker/compose.yaml: the pool through pgbouncer, LISTEN on the primary, unnamed statements.
            configuration.databaseURL = "host=127.0.0.1 port=\(bouncer.port) dbname=engagement user=engagement_app password=\(TestCluster.applicationPassword)"
            configuration.databaseListenURL = try deployment.applicationURL
            configuration.preparedStatements = false
            configuration.expectedSchemaVersion = TestCluster.schema.latestMigration
            configure(&configuration, index, primary, replica)
            let application = try await EngagementApplication.start(configuration: configuration, logger: Logger(label: "topology"))
            let group = ServiceGroup(configuration: .init(services: application.services.map { .init(service: $0) }, logger: Logger(label: "topology")))
            servers.append(application)
            groups.append(group)
            running.append(Task { try await group.run() })
        }
        return Topology(
            primary: primary, replica: replica, bouncer: bouncer, deployment: deployment, servers: servers, groups: groups,
            running: running, orgA: orgA, orgB: orgB, caFile: base.certificates.caFile)
    }

    @Test("two servers behind pgbouncer share the data and the events; the reporting login on the replica sees its organisation's write, and only its own")
    func endToEnd() async throws {
        let topology = try await Self.start()
        do {
            let writer = try await topology.session(0, topology.orgA)
            let reader = try await topology.session(1, topology.orgA)
            let subscription = try #require(try await reader.call("events.subscribe", [:])["result"]?["subscription"]?.stringValue)
            let created = try #require(try await writer.call("party.create", ["name": "Replicated Ltd", "kind": "customer"])["result"])
            let id = try #require(created["id"]?.stringValue)
            #expect(try await reader.call("party.get", ["id": .string(id)])["result"]?["name"] == "Replicated Ltd", "read through the other server")
            // A timeline entry written through one server is pushed by the other (its LISTEN connection is on the
            // primary, not behind pgbouncer).
            let tracked = try await TrackedEngagement.make(writer)
            _ = try #require(try await writer.call("timeline.note", ["engagement_id": tracked.id, "title": "Across servers"])["result"])
            var pushed = false
            while !pushed, let message = try await reader.nextNotification(timeout: .seconds(10)) {
                pushed = message["params"]?["subscription"]?.stringValue == subscription
                    && message["params"]?["event"]?["title"] == "Across servers"
            }
            #expect(pushed, "the other server pushed the note")
            // Many calls through both servers at once: pgbouncer with unnamed statements, transaction pooling.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in [writer, reader] {
                    group.addTask { for _ in 0..<25 { _ = try #require(try await client.call("party.list", ["limit": 5])["result"]) } }
                }
                try await group.waitForAll()
            }

            // Tenant DBAs on the replica: organisation A's login sees the write once it has replicated; B's sees nothing of A.
            let loginA = try #require(try await writer.call("reporting_role.create", ["name": "topology_a"])["result"])
            let loginB = try #require(try await topology.session(1, topology.orgB).call("reporting_role.create", ["name": "topology_b"])["result"])
            func replicaConnection(_ name: String, _ login: JSONValue) throws -> PostgresConnection {
                try PostgresConnection.connect(
                    topology.replica.url(user: name, password: login["password"]?.stringValue ?? "", database: "engagement"))
            }
            let started = ContinuousClock.now
            var seen = false
            while !seen && ContinuousClock.now - started < .seconds(10) {
                if let connection = try? replicaConnection("topology_a", loginA) {
                    defer { connection.close() }
                    seen = (try? connection.query("SELECT count(*) FROM reporting.parties WHERE id = $1::uuid", [id]).int(0, 0)) == 1
                }
                if !seen { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(seen, "organisation A's reporting login read its write on the replica")
            print("local topology: the write was readable on the replica after \(ContinuousClock.now - started)")
            let b = try replicaConnection("topology_b", loginB)
            defer { b.close() }
            #expect(try b.query("SELECT count(*) FROM reporting.parties WHERE id = $1::uuid", [id]).int(0, 0) == 0)
            #expect(try b.query("SELECT count(*) FROM reporting.parties WHERE name IN ('Replicated Ltd', 'Organisation A')").int(0, 0) == 0)
            #expect(try b.query("SELECT count(*) FROM reporting.parties WHERE name = 'Organisation B'").int(0, 0) == 1, "its own, on the replica")
            #expect(throws: (any Error).self, "the replica is read-only") {
                try b.query("CREATE TABLE reporting.intruder (x int)")
            }
            // Both servers were used and count their calls.
            for server in topology.servers {
                let scraped = try await HTTPProbe.metrics("http://127.0.0.1:\(try #require(server.monitoring).port)/metrics")
                #expect((scraped.value("engagement_rpc_calls_total", ["method": "party.list", "outcome": "ok"]) ?? 0) >= 25)
            }
        } catch {
            let log = (try? String(contentsOf: topology.bouncer.logFile, encoding: .utf8)) ?? ""
            print("pgbouncer log:\n\(log.suffix(3000))")
            if let superuser = try? PostgresConnection.connect(topology.primary.url()) {
                let rows = try superuser.query(
                    "SELECT coalesce(application_name,'') || ' | ' || coalesce(state,'') || ' | ' || coalesce(wait_event_type,'') || ':' || coalesce(wait_event,'') || ' | ' || left(coalesce(query,''), 120) FROM pg_stat_activity WHERE datname = 'engagement'")
                for row in 0..<rows.rowCount { print("activity: \(rows.string(row, 0) ?? "")") }
                superuser.close()
            }
            try? await topology.stop()
            throw error
        }
        try await topology.stop()
    }

    @Test("reports read on the replica while its heartbeat is fresh and say so; on the primary while replay is paused; a replica URL that reaches the primary stops start-up")
    func replicaReads() async throws {
        let topology = try await Self.start { configuration, server, _, replica in
            configuration.replicaDatabaseURL = replica.url(
                user: "engagement_app", password: TestCluster.applicationPassword, database: "engagement")
            configuration.replicaMaximumLag = .seconds(server == 0 ? 5 : 1)
        }
        do {
            let client = try await topology.session(0, topology.orgA)
            let tracked = try await TrackedEngagement.make(client)
            let params: [String: JSONValue] = [
                "report.plan_vs_actual": ["engagement_id": tracked.id], "report.satisfaction": ["kpi": "CSAT"],
                "report.engagement": ["engagement_id": tracked.id],
            ]
            // Every report the registry has whose answer is an object: answered by the replica (the first heartbeat may
            // take a moment); report.showback answers an array, cannot say who served it, and stays on the primary.
            let reports = topology.servers[0].registry.names.filter { $0.hasPrefix("report.") }
            #expect(reports.count >= 5)
            var answered: [String] = []
            for report in reports {
                var reply = try await client.call(report, params[report] ?? [:])
                for _ in 0..<50 where reply["result"]?["served_by"] == "primary" {
                    try await Task.sleep(for: .milliseconds(100))
                    reply = try await client.call(report, params[report] ?? [:])
                }
                switch reply["result"] {
                case .array?:
                    #expect(report == "report.showback")
                case let result?:
                    #expect(result["served_by"] == "replica", "\(report): \(JSONWriter.string(reply).prefix(200))")
                    answered.append(report)
                case nil:
                    Issue.record("\(report): \(JSONWriter.string(reply).prefix(200))")
                }
            }
            #expect(answered.count == reports.count - 1, "every report but showback")
            print("local topology: the replica answered \(answered.sorted())")
            let report = try #require(answered.first)
            // Replay paused: the heartbeat ages on the replica; server 1 (a 1 s bound) reads from the primary.
            let replicaSuperuser = try PostgresConnection.connect(topology.replica.url())
            defer { replicaSuperuser.close() }
            _ = try replicaSuperuser.query("SELECT pg_wal_replay_pause()")
            try await Task.sleep(for: .milliseconds(1600))
            let behind = try await topology.session(1, topology.orgA).call(report, params[report] ?? [:])
            #expect(behind["result"]?["served_by"] == "primary", "\(JSONWriter.string(behind).prefix(300))")
            _ = try replicaSuperuser.query("SELECT pg_wal_replay_resume()")
            var again = try await topology.session(1, topology.orgA).call(report, params[report] ?? [:])
            for _ in 0..<50 where again["result"]?["served_by"] != "replica" {
                try await Task.sleep(for: .milliseconds(100))
                again = try await topology.session(1, topology.orgA).call(report, params[report] ?? [:])
            }
            #expect(again["result"]?["served_by"] == "replica", "replay resumed: the replica answers again")
            let scraped = try await HTTPProbe.metrics("http://127.0.0.1:\(try #require(topology.servers[1].monitoring).port)/metrics")
            #expect((scraped.value("engagement_report_reads_total", ["served_by": "primary", "reason": "behind"]) ?? 0) >= 1)
            #expect((scraped.value("engagement_report_reads_total", ["served_by": "replica", "reason": "fresh"]) ?? 0) >= 1)

            // A "replica" that is the primary is refused before the server listens.
            var wrong = try ServerFixture.configuration(for: topology.deployment, base: try await TestCluster.shared.base())
            wrong.replicaDatabaseURL = try topology.deployment.applicationURL
            await #expect(throws: ReplicaIsPrimary.self) {
                _ = try await EngagementApplication.start(configuration: wrong, logger: Logger(label: "topology"))
            }
        } catch {
            try? await topology.stop()
            throw error
        }
        try await topology.stop()
    }
}

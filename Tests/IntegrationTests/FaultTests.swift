import DevEnvironment
import EngagementClient
import EngagementService
import Foundation
import JSONRPC
import LocalPostgres
import Logging
import PostgresClient
import Synchronization
import Testing

/// Faults while clients write: writers create parties with idempotency keys and retry the same key on every
/// retry-later answer until it is acknowledged, while the database's backends are terminated, PostgreSQL is
/// stopped and started, or killed with SIGKILL and restarted. Afterwards every acknowledged write is stored, once,
/// with the id it was acknowledged with, and nothing else was written; the server recovered by itself. On a
/// private cluster of the test's own (the shared one serves the other suites).
@Suite("Faults", .serialized)
struct FaultTests {
    /// What the writers were told: key → id, and the answers that made them retry.
    final class Ledger: Sendable {
        private let state = Mutex<(acknowledged: [String: String], retries: [String: Int], unexpected: [String])>(([:], [:], []))
        func acknowledge(_ key: String, _ id: String) { state.withLock { $0.acknowledged[key] = id } }
        func retried(_ reason: String) { state.withLock { $0.retries[reason, default: 0] += 1 } }
        func unexpected(_ reply: String) { state.withLock { $0.unexpected.append(reply) } }
        var acknowledged: [String: String] { state.withLock { $0.acknowledged } }
        var retries: [String: Int] { state.withLock { $0.retries } }
        var unexpectedReplies: [String] { state.withLock { $0.unexpected } }
    }

    final class StopFlag: Sendable {
        private let flag = Atomic(false)
        func set() { flag.store(true, ordering: .relaxed) }
        var isSet: Bool { flag.load(ordering: .relaxed) }
    }

    /// How long PostgreSQL stays down: 2 s in CI; `FAULT_OUTAGE_SECONDS=30 swift test --filter FaultTests` for the
    /// full harness run (Benchmarks/README.md, "Faults").
    static let outageSeconds = Int(ProcessInfo.processInfo.environment["FAULT_OUTAGE_SECONDS"] ?? "") ?? 2

    struct PrivateServer {
        let cluster: LocalCluster
        let server: ServerFixture
    }

    static func start(_ label: String, configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> PrivateServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("engagement-faults-\(randomToken(bytes: 4))")
        registerCleanup { try? FileManager.default.removeItem(at: directory) }
        let (cluster, deployment) = try PrivateCluster.start(in: directory, database: "faults", label: "faults")
        let server = try await ServerFixture.start(label, deployment: deployment) {
            $0.databaseAcquireTimeout = .seconds(2)
            $0.authenticationFailuresPerAddress = 1000
            configure(&$0)
        }
        return PrivateServer(cluster: cluster, server: server)
    }

    /// `writers` writers, each creating parties one after another until `stop`; a key is retried until it is
    /// acknowledged, through retry-later answers and lost connections alike.
    /// `pause` between one writer's writes keeps the load light where the test runs beside the other suites.
    static func write(
        _ server: ServerFixture, writers: Int, pause: Duration = .zero, ledger: Ledger, until stop: StopFlag
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    // Under a loaded machine a writer may first connect after the fault began: retry it too.
                    var client = try await Self.sessionRetrying(server)
                    var number = 0
                    while !stop.isSet {
                        let key = "w\(writer)-\(number)"
                        while true {
                            let reply: JSONValue
                            do {
                                reply = try await client.call(
                                    "party.create", ["name": .string(key), "kind": "customer", "idempotency_key": .string(key)],
                                    timeout: .seconds(20))
                            } catch {
                                ledger.retried("connection")
                                try await Task.sleep(for: .milliseconds(100))
                                if let fresh = try? await server.session(server.orgA) { client = fresh }
                                continue
                            }
                            if let id = reply["result"]?["id"]?.stringValue {
                                ledger.acknowledge(key, id)
                                break
                            }
                            if let code = reply.errorCode, [-32005, -32006].contains(code) {
                                ledger.retried(reply.errorReason ?? "\(code)")
                                try await Task.sleep(for: .milliseconds(100))
                                continue
                            }
                            ledger.unexpected(JSONWriter.string(reply))
                            break
                        }
                        number += 1
                        if pause > .zero { try await Task.sleep(for: pause) }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// A session of organisation A, retried through retry-later answers and refused connections for up to 30 s.
    static func sessionRetrying(_ server: ServerFixture) async throws -> RPCConnection {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            do {
                return try await server.session(server.orgA)
            } catch {
                guard ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Every acknowledged key is stored once, with its id; no other party was written.
    static func verify(_ server: ServerFixture, _ ledger: Ledger) throws {
        let owner = try server.ownerConnection()
        defer { owner.close() }
        let stored = try storedParties(owner, organisation: server.orgA.id, prefix: "w")
        let acknowledged = ledger.acknowledged
        #expect(!acknowledged.isEmpty)
        #expect(stored == acknowledged, "stored \(stored.count), acknowledged \(acknowledged.count)")
        #expect(ledger.unexpectedReplies.isEmpty, "\(ledger.unexpectedReplies.prefix(3))")
    }

    /// The writers' parties of `organisation` (named `<prefix><writer>-<number>`) by name → id; each must be stored
    /// once, whatever its idempotency key's retries.
    static func storedParties(_ owner: PostgresConnection, organisation: UUID, prefix: String) throws -> [String: String] {
        let rows = try owner.query(
            "SELECT name, id::text, count(*) OVER (PARTITION BY name) FROM app.parties WHERE organisation_id = $1::uuid AND name ~ ('^' || $2 || '[0-9]+-')",
            [organisation, prefix])
        var stored: [String: String] = [:]
        for row in 0..<rows.rowCount {
            #expect(rows.int(row, 2) == 1, "\(rows.string(row, 0) ?? "?") stored more than once")
            stored[rows.string(row, 0)!] = rows.string(row, 1)!
        }
        return stored
    }

    @Test("every backend of the server terminated, again and again, while 4 writers write: nothing acknowledged is lost or doubled")
    func terminatedBackends() async throws {
        let fixture = try await Self.start("faults-terminate")
        try await fixture.server.scoped {
            let ledger = Ledger()
            let stop = StopFlag()
            let killer = Task {
                let superuser = try PostgresConnection.connect(fixture.cluster.url())
                defer { superuser.close() }
                var terminated = 0
                for _ in 0..<8 {
                    try await Task.sleep(for: .milliseconds(400))
                    terminated += try superuser.query(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'engagement_app'").int(0, 0) ?? 0
                }
                stop.set()
                return terminated
            }
            try await Self.write(fixture.server, writers: 4, ledger: ledger, until: stop)
            let terminated = try await killer.value
            #expect(terminated > 0, "backends were terminated")
            try Self.verify(fixture.server, ledger)
            #expect(try await fixture.server.session(fixture.server.orgB).call("session.whoami")["result"] != nil, "no restart needed")
        }
    }

    @Test("PostgreSQL stopped (2 s; FAULT_OUTAGE_SECONDS), then killed with SIGKILL and restarted, under writers: retry-later answers, no hang, nothing lost; the server recovers by itself")
    func outages() async throws {
        let fixture = try await Self.start("faults-outage")
        try await fixture.server.scoped {
            let ledger = Ledger()
            let stop = StopFlag()
            let recoveries = Mutex<[Duration]>([])
            let probe = try await fixture.server.session(fixture.server.orgB)
            /// Time from PostgreSQL accepting connections again to the server answering a call that needs it.
            func recovered() async throws {
                let back = ContinuousClock.now
                for _ in 0..<200 {
                    if try await probe.call("session.whoami")["result"] != nil {
                        recoveries.withLock { $0.append(ContinuousClock.now - back) }
                        return
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                Issue.record("the server did not recover within 10 s")
            }
            let faults = Task {
                try await Task.sleep(for: .milliseconds(600))
                try fixture.cluster.stop()
                let down = try await probe.call("session.whoami", timeout: .seconds(10))
                #expect(down.errorCode == -32006 || down.errorCode == -32005, "\(JSONWriter.string(down))")
                try await Task.sleep(for: .seconds(Self.outageSeconds))
                try fixture.cluster.startAgain()
                try await recovered()
                try await Task.sleep(for: .milliseconds(600))
                let pid = try #require(fixture.cluster.postmasterPID())
                kill(pid, SIGKILL)
                try await Task.sleep(for: .milliseconds(500))
                var started = false
                for _ in 0..<40 where !started {
                    // Until the killed postmaster's backends are gone, its shared memory blocks a new start.
                    started = (try? fixture.cluster.startAgain()) != nil
                    if !started { try await Task.sleep(for: .milliseconds(250)) }
                }
                #expect(started, "PostgreSQL came back after crash recovery")
                try await recovered()
                try await Task.sleep(for: .milliseconds(600))
                stop.set()
            }
            try await Self.write(fixture.server, writers: 4, ledger: ledger, until: stop)
            try await faults.value
            try Self.verify(fixture.server, ledger)
            let times = recoveries.withLock { $0 }
            #expect(times.count == 2 && times.allSatisfy { $0 < .seconds(10) }, "recovered after \(times)")
            print("faults: \(ledger.acknowledged.count) writes acknowledged, retries \(ledger.retries), recovered after \(times)")
        }
    }
}

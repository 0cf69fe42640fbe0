import EngagementClient
import Foundation
import JSONRPC
import PostgresClient
import Synchronization
import Testing

/// The rest of the fault harness (FaultTests has the database faults): the pool exhausted by calls a lock holds,
/// a client that stops reading while pipelining, slowloris and never-handshaking connections beside a bystander,
/// all under writers whose every acknowledged write must be stored once. `bash Benchmarks/faults/run.sh` runs the
/// harness alone at full size and records the figures (Benchmarks/README.md, "Faults"); in CI it runs smaller.
@Suite("Faults under load", .serialized)
struct FaultLoadTests {
    static let environment = ProcessInfo.processInfo.environment
    /// Slowloris and never-handshaking connections: 100 and 25 in CI (beside the other suites); the harness sets 1,000 and 200.
    static let slowloris = Int(environment["FAULT_SLOWLORIS"] ?? "") ?? 100
    static let neverHandshaking = Int(environment["FAULT_NEVER_HANDSHAKING"] ?? "") ?? 25
    /// Set by the harness, which runs alone on the machine: only then is a latency ratio a measurement.
    static let measuring = environment["FAULT_HARNESS"] == "1"
    /// Beside the other suites (CI) writers pause between writes, so that their load does not upset other suites'
    /// timing; the harness writes flat out.
    static let pause: Duration = measuring ? .zero : .milliseconds(20)
    /// How long the lock holds A's writes: beside the other suites B's answer, asked 2 s into the lock, has
    /// taken up to 2.3 s on this 2-core machine under the whole suite's load, so 8 s there; the harness, 4 s.
    static let lockHeld: TimeInterval = measuring ? 4 : 8

    @Test("a lock holds every write of organisation A until the pool is exhausted: A's writers get retry-later answers, never a hang, and lose nothing; B is still served")
    func poolExhausted() async throws {
        // A pool of 8, the smallest that keeps a connection free for an organisation arriving while another holds
        // the rest (OrganisationShareStateMachine); ten writers, so A's calls also queue for their share.
        // A private cluster, as for every fault test: the shared one is near its max_connections with the other suites.
        let fixture = try await FaultTests.start("faults-pool") { $0.databasePoolSize = 8 }
        let server = fixture.server
        try await server.scoped {
            let ledger = FaultTests.Ledger()
            let stop = FaultTests.StopFlag()
            let probe = try await server.session(server.orgB)
            // When the lock was taken and (just before) released: B's call must be answered in between.
            let holder = Task { () -> (locked: ContinuousClock.Instant, released: ContinuousClock.Instant) in
                try await Task.sleep(for: .milliseconds(500))
                return try await onOwnThread {
                    let superuser = try server.superuserConnection()
                    defer { superuser.close() }
                    _ = try superuser.query("BEGIN")
                    _ = try superuser.query("LOCK TABLE app.parties IN ACCESS EXCLUSIVE MODE")
                    let locked = ContinuousClock.now
                    Thread.sleep(forTimeInterval: Self.lockHeld)
                    let released = ContinuousClock.now
                    _ = try superuser.query("COMMIT")
                    return (locked, released)
                }
            }
            let observer = Task {
                try await Task.sleep(for: .milliseconds(2500))  // the lock has held A's writes for 2 s
                let asked = ContinuousClock.now
                let reply = try await probe.call("service.list", timeout: .seconds(10))
                let answered = ContinuousClock.now
                let lock = try await holder.value
                try await Task.sleep(for: .milliseconds(1500))
                stop.set()
                return (reply, asked, answered, lock)
            }
            try await FaultTests.write(server, writers: 10, pause: Self.pause, ledger: ledger, until: stop)
            let (reply, asked, answered, lock) = try await observer.value
            let waited = answered - asked
            try FaultTests.verify(server, ledger)
            #expect(!ledger.retries.isEmpty && Set(ledger.retries.keys).isSubset(of: ["organisation_busy", "database_pool_exhausted"]),
                    "A's calls beyond its connections were refused for now (-32005): \(ledger.retries)")
            // Relative to the lock, not to a fixed time: a loaded CI machine once took 1.5 s to answer B, still long
            // before A's writes could move.
            #expect(reply["result"] != nil && lock.locked < asked && answered < lock.released,
                    "B answered in \(waited), \(lock.released - answered) before A's writes could move: \(JSONWriter.string(reply).prefix(200))")
            print("faults: pool exhausted by a lock for \(Self.lockHeld) s: \(ledger.acknowledged.count) writes acknowledged, retries \(ledger.retries), B answered in \(waited)")
        }
    }

    @Test("slowloris and never-handshaking connections, and a client that pipelines without reading, beside writers and a bystander: the server holds them, closes the silent ones, and keeps serving; nothing lost")
    func hostileConnections() async throws {
        let server = try await FaultTests.start("faults-hostile") {
            $0.transport.maximumConnections = Self.slowloris + Self.neverHandshaking + 200
            // The harness keeps the default handshake timeout (10 s: it is the one measured); CI's shorter run, 3 s.
            if !Self.measuring { $0.transport.handshakeTimeout = .seconds(3) }
            // The writers and the bystander's back-to-back reads are both floods by the fairness budget's measure;
            // this test is about hostile connections, so the budget (FairnessTests) is off and every call must run.
            $0.organisationDatabaseMillisecondsPerSecond = 0
        }.server
        try await server.scoped {
            let bystander = try await server.session(server.orgB)
            let party = try #require(try await bystander.call("party.create", ["name": "Bystander", "kind": "customer"])["result"]?["id"])
            func latencies(for duration: Duration) async throws -> [Duration] {
                var times: [Duration] = []
                let end = ContinuousClock.now + duration
                while ContinuousClock.now < end {
                    let asked = ContinuousClock.now
                    let reply = try await bystander.call("party.get", ["id": party])
                    times.append(ContinuousClock.now - asked)
                    #expect(reply["result"]?["id"] == party, "\(JSONWriter.string(reply).prefix(200))")
                }
                return times
            }
            // Writers all along; the bystander's baseline with them, then the same with the attack.
            let ledger = FaultTests.Ledger()
            let stop = FaultTests.StopFlag()
            let attackSeconds = Self.measuring ? 16 : 9
            let calls = Int(Self.environment["FAULT_STALLED_CALLS"] ?? "") ?? 100_000
            let measured = Task {
                _ = try await latencies(for: .seconds(1))  // warm-up: the first calls prepare statements
                let baseline = try await latencies(for: Self.measuring ? .seconds(5) : .seconds(2))
                let attacker = Task {
                    try await PythonTool.json("slowloris.py", [
                        "127.0.0.1", String(server.port), server.certificates.caFile.path, String(Self.slowloris),
                        String(Self.neverHandshaking), String(attackSeconds),
                    ])
                }
                let stalled = Task {
                    try await PythonTool.json("stalled_reader.py", [
                        "127.0.0.1", String(server.port), server.certificates.caFile.path, server.orgA.apiKey, String(calls),
                        String(attackSeconds - 4),
                    ])
                }
                // Until the slowloris connections are in (handshakes take the machine a few seconds).
                let ready = ContinuousClock.now + .seconds(8)
                while server.application.server.connectionCount < Self.slowloris && ContinuousClock.now < ready {
                    try await Task.sleep(for: .milliseconds(100))
                }
                let held = server.application.server.connectionCount
                let underAttack = try await latencies(for: Self.measuring ? .seconds(6) : .seconds(3))
                stop.set()
                return (baseline, held, underAttack, try await attacker.value, try await stalled.value)
            }
            try await FaultTests.write(server, writers: 2, pause: Self.pause, ledger: ledger, until: stop)
            let (baseline, held, underAttack, attack, stall) = try await measured.value
            try FaultTests.verify(server, ledger)

            #expect(held >= Self.slowloris, "the server held \(held) connections")
            #expect(attack["tls_failed"]?.intValue == 0 && attack["tls_closed_by_server"]?.intValue == 0, "slowloris kept: \(attack)")
            // Each never-handshaking connection closed by the server (late, on a starved machine: the script waits for it).
            #expect((attack["plain_closed_by_server"]?.intValue ?? 0) >= Self.neverHandshaking && attack["plain_outlived_grace"]?.intValue == 0,
                    "never-handshaking ones closed at the handshake timeout: \(attack)")
            // The server stopped taking the stalled client's calls (back-pressure) instead of buffering their replies.
            #expect((stall["sent_calls"]?.intValue ?? 0) > 0 && (stall["sent_calls"]?.intValue ?? calls) < calls && stall["server_alive"] == true, "\(stall)")
            #expect(try await bystander.call("session.whoami")["result"] != nil)
            let before = Self.percentile(baseline, 0.99), during = Self.percentile(underAttack, 0.99)
            let ratio = during / before
            print("faults: \(Self.slowloris) slowloris + \(Self.neverHandshaking) never-handshaking + a stalled reader (took \(stall["sent_calls"]?.intValue ?? 0) of \(calls) calls): bystander p99 \(before) → \(during) ms (×\(String(format: "%.2f", ratio))), p50 \(Self.percentile(baseline, 0.5)) → \(Self.percentile(underAttack, 0.5)) ms, \(underAttack.count) calls; writers \(ledger.acknowledged.count) acknowledged")
            if Self.measuring {
                #expect(ratio <= 2, "bystander p99 within 2× its baseline: \(before) → \(during) ms")
            }
        }
    }

    /// The `fraction` percentile of `times`, in milliseconds.
    static func percentile(_ times: [Duration], _ fraction: Double) -> Double {
        let sorted = times.sorted()
        guard !sorted.isEmpty else { return 0 }
        let value = sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
        return (Double(value.components.seconds) * 1000 + Double(value.components.attoseconds) / 1e15).rounded(toPlaces: 2)
    }
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        let scale = Foundation.pow(10, Double(places))
        return (self * scale).rounded() / scale
    }
}

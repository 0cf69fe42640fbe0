import EngagementClient
import Foundation
import JSONRPC
import LocalPostgres
import PostgresClient
import Synchronization
import Testing

/// SIGTERM to a real `engagementd serve` process while clients pipeline idempotent writes: every call sent before
/// the signal gets a reply (its result, or -32006 shutting_down: it never ran), the process drains and exits 0,
/// every acknowledged write is stored once and no refused one is.
@Suite("Faults: SIGTERM under load")
struct FaultShutdownTests {
    /// Every call's key, when it was sent and what it got; when the signal went.
    final class Recorder: Sendable {
        private let state = Mutex<(calls: [(key: String, sentAt: ContinuousClock.Instant, outcome: Outcome)], signal: ContinuousClock.Instant?)>(([], nil))
        func record(_ key: String, _ sentAt: ContinuousClock.Instant, _ outcome: Outcome) { state.withLock { $0.calls.append((key, sentAt, outcome)) } }
        func signalled() { state.withLock { $0.signal = ContinuousClock.now } }
        var calls: [(key: String, sentAt: ContinuousClock.Instant, outcome: Outcome)] { state.withLock { $0.calls } }
        var signal: ContinuousClock.Instant? { state.withLock { $0.signal } }
    }

    /// What one call got: acknowledged with an id, refused with a code and reason, or no reply at all.
    enum Outcome: Sendable {
        case acknowledged(String)
        case refused(Int, String)
        case noReply
    }

    /// Calls in flight per connection: 2 in CI (beside the other suites); the harness sets 8.
    static let lanes = Int(ProcessInfo.processInfo.environment["FAULT_HARNESS"] == "1" ? 8 : 2)

    @Test("SIGTERM to engagementd under 4 connections of pipelined writers: calls sent before it are answered, acknowledged writes stored once, refused ones never; exit 0")
    func sigtermUnderLoad() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("engagement-sigterm-\(randomToken(bytes: 4))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        registerCleanup { try? FileManager.default.removeItem(at: directory) }
        // A private cluster, as for every fault test: the shared one is near its max_connections with the other suites.
        let (_, deployment) = try PrivateCluster.start(in: directory.appendingPathComponent("postgres"), database: "sigterm", label: "sigterm")
        let (orgA, _) = try ServerFixture.seedOrganisations(deployment)
        let base = try await TestCluster.shared.base()
        let server = try ServerProcess.start(deployment, base: base, directory: directory)
        var connections = [try await server.session(orgA.apiKey, waitingForStart: true)]
        for _ in 1..<4 { connections.append(try await server.session(orgA.apiKey)) }

        let recorder = Recorder()
        let pid = server.process.processIdentifier
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (connectionIndex, connection) in connections.enumerated() {
                for lane in 0..<Self.lanes {
                    group.addTask {
                        var number = 0
                        while true {
                            let key = "s\(connectionIndex)-\(lane)-\(number)"
                            number += 1
                            let sentAt = ContinuousClock.now
                            let outcome: Outcome
                            do {
                                let reply = try await connection.call(
                                    "party.create", ["name": .string(key), "kind": "customer", "idempotency_key": .string(key)], timeout: .seconds(20))
                                if let id = reply["result"]?["id"]?.stringValue {
                                    outcome = .acknowledged(id)
                                } else {
                                    outcome = .refused(reply.errorCode ?? 0, reply.errorReason ?? "")
                                }
                            } catch {
                                outcome = .noReply
                            }
                            recorder.record(key, sentAt, outcome)
                            if case .acknowledged = outcome { continue }
                            return  // refused (the server is stopping) or no reply: this lane is done
                        }
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(2))
                recorder.signalled()
                kill(pid, SIGTERM)
            }
            try await group.waitForAll()
        }
        let stopped = try await server.waitForExit()
        let stopLog = server.output
        #expect(stopped.0 == 0, "engagementd exited \(stopped.0): \(stopLog.suffix(1500))")

        let signal = try #require(recorder.signal)
        let all = recorder.calls
        // Sent well before the signal (100 ms: on loopback it had reached the server's socket): answered.
        let unanswered = all.filter { if case .noReply = $0.outcome { return $0.sentAt < signal - .milliseconds(100) } else { return false } }
        #expect(unanswered.isEmpty, "\(unanswered.count) calls sent before SIGTERM got no reply: \(unanswered.prefix(3).map(\.key))")
        var acknowledged: [String: String] = [:]
        var refused: [String] = []
        for entry in all {
            switch entry.outcome {
            case .acknowledged(let id): acknowledged[entry.key] = id
            case .refused(let code, let reason):
                #expect(code == -32006 && reason == "shutting_down", "\(entry.key): \(code) \(reason)")
                refused.append(entry.key)
            case .noReply: break
            }
        }
        let owner = try PostgresConnection.connect(try deployment.ownerURL)
        defer { owner.close() }
        let stored = try FaultTests.storedParties(owner, organisation: orgA.id, prefix: "s")
        #expect(acknowledged.count > 20, "writes were acknowledged before the signal: \(acknowledged.count)")
        for (key, id) in acknowledged { #expect(stored[key] == id, "\(key) acknowledged as \(id), stored as \(stored[key] ?? "nothing")") }
        #expect(refused.allSatisfy { stored[$0] == nil }, "a call refused as shutting_down never ran")
        let unacknowledgedStored = Set(stored.keys).subtracting(acknowledged.keys)
        print("faults: SIGTERM under load: \(acknowledged.count) acknowledged, \(refused.count) refused (shutting_down), \(all.count - acknowledged.count - refused.count) sent after it without reply; \(unacknowledgedStored.count) stored without a reply; exited \(stopped.0) in \(stopped.1)")
    }
}

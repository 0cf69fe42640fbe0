import EngagementClient
import Foundation
import JSONRPC
import LocalPostgres
import Testing

/// `ENGAGEMENT_TRACING=otlp` on a real `engagementd serve`: its spans reach an OTLP/HTTP receiver that decodes them
/// with OpenTelemetry's reference protobuf classes (`Tests/Support/otlp_receiver.py`).
@Suite("Tracing")
struct TracingTests {
    /// The receiver's spans, one JSON object each.
    static func spans(_ file: URL) throws -> [JSONValue] {
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { try JSONParser.parse(Array($0.utf8)) }
    }

    @Test("a span per call named by its method, a database span inside it, errors with their codes, no param's value; the JSON log lines carry the trace id; spans of the last calls exported at SIGTERM")
    func exportsSpans() async throws {
        try await PythonTool.ensure(module: "opentelemetry.proto", package: "opentelemetry-proto")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("engagement-tracing-\(randomToken(bytes: 4))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        registerCleanup { try? FileManager.default.removeItem(at: directory) }
        let portFile = directory.appendingPathComponent("receiver.port")
        let spansFile = directory.appendingPathComponent("spans.jsonl")
        let receiver = Process()
        receiver.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        receiver.arguments = ["python3", PythonTool.directory.appendingPathComponent("otlp_receiver.py").path, portFile.path, spansFile.path]
        try receiver.run()
        // SIGKILL: a child of the test process starts with its blocked signals, SIGTERM among them.
        let receiverPID = receiver.processIdentifier
        registerCleanup { kill(receiverPID, SIGKILL) }
        var receiverPort: String?
        for _ in 0..<100 where receiverPort == nil {
            receiverPort = try? String(contentsOf: portFile, encoding: .utf8)
            if receiverPort == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let port = try #require(receiverPort, "the receiver started")

        let deployment = try await TestCluster.shared.deployment("tracing")
        let (orgA, _) = try ServerFixture.seedOrganisations(deployment)
        let server = try ServerProcess.start(
            deployment, base: try await TestCluster.shared.base(), directory: directory,
            settings: [
                "ENGAGEMENT_TRACING": "otlp", "ENGAGEMENT_LOG_FORMAT": "json", "ENGAGEMENT_LOG_LEVEL": "debug",
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(port)", "OTEL_BSP_SCHEDULE_DELAY": "200",
            ])
        let connection = try await server.session(orgA.apiKey, waitingForStart: true)
        let secret = "tracing-probe-\(randomToken(bytes: 6))"
        let created = try await connection.call("party.create", ["name": .string(secret), "kind": "customer"])
        let partyID = try #require(created["result"]?["id"]?.stringValue)
        let missing = try await connection.call("party.get", ["id": .string(UUID().uuidString)])
        #expect(missing.errorCode == -32003)
        let invalid = try await connection.call("party.create", ["name": .string(secret)])
        #expect(invalid.errorCode == -32602)
        // Exported in batches while it runs (200 ms here): the first call's spans arrive before any signal.
        var early: [JSONValue] = []
        for _ in 0..<100 where !early.contains(where: { $0["name"]?.stringValue == "party.create" }) {
            try await Task.sleep(for: .milliseconds(100))
            early = try Self.spans(spansFile)
        }
        // A call just before SIGTERM: its spans are flushed as the process stops.
        let last = try await connection.call("session.whoami")
        #expect(last["result"] != nil)
        kill(server.process.processIdentifier, SIGTERM)
        let exit = try await server.waitForExit()
        #expect(exit.status == 0, "engagementd exited \(exit.status): \(server.output.suffix(1500))")
        let spans = try Self.spans(spansFile)

        func serverSpans(_ method: String) -> [JSONValue] {
            spans.filter { $0["name"]?.stringValue == method && $0["kind"]?.intValue == 2 }  // SPAN_KIND_SERVER
        }
        func children(of span: JSONValue) -> [JSONValue] {
            spans.filter { $0["parent_span_id"] == span["span_id"] && $0["trace_id"] == span["trace_id"] }
        }
        #expect(spans.allSatisfy { $0["service"]?.stringValue == "engagementd" && $0["encoding"]?.stringValue == "protobuf" })
        let create = try #require(serverSpans("party.create").first { $0["attributes"]?["rpc.jsonrpc.error_code"] == nil })
        #expect(create["attributes"]?["rpc.system"]?.stringValue == "jsonrpc")
        #expect(create["attributes"]?["rpc.method"]?.stringValue == "party.create")
        #expect(create["attributes"]?["engagement.organisation_id"]?.stringValue == orgA.id.uuidString.lowercased())
        #expect(create["status"]?.intValue == 0)  // unset
        let requestID = try #require(create["attributes"]?["engagement.request_id"]?.stringValue)
        let database = children(of: create)
        #expect(database.count == 1, "one database round trip inside the call: \(database)")
        #expect(database.first?["name"]?.stringValue == "SELECT api.party_create")
        #expect(database.first?["kind"]?.intValue == 3)  // SPAN_KIND_CLIENT
        #expect(database.first?["attributes"]?["db.system.name"]?.stringValue == "postgresql")
        #expect(database.first?["attributes"]?["engagement.request_id"]?.stringValue == requestID)
        if case .number(let waited)? = database.first?["attributes"]?["engagement.connection_wait_ms"] {
            #expect((Double(waited) ?? -1) >= 0)
        } else {
            Issue.record("engagement.connection_wait_ms is a number")
        }
        // Inside its call: started after it, ended before it (nanoseconds since the epoch).
        #expect((database.first?["start"]?.intValue ?? 0) >= (create["start"]?.intValue ?? .max))
        #expect((database.first?["end"]?.intValue ?? .max) <= (create["end"]?.intValue ?? 0))

        let notFound = try #require(serverSpans("party.get").first)
        #expect(notFound["attributes"]?["rpc.jsonrpc.error_code"]?.intValue == -32003)
        #expect(notFound["attributes"]?["engagement.error_reason"]?.stringValue == "not_found")
        #expect(notFound["status"]?.intValue == 0, "a client's mistake leaves the status unset")
        let refused = try #require(serverSpans("party.create").first { $0["attributes"]?["rpc.jsonrpc.error_code"]?.intValue == -32602 })
        #expect(children(of: refused).isEmpty, "invalid params never reach the database")
        #expect(!serverSpans("session.authenticate").isEmpty)
        #expect(!serverSpans("session.whoami").isEmpty, "the call just before SIGTERM was exported: \(spans.map { $0["name"]?.stringValue ?? "" })")
        #expect(!early.isEmpty)

        let everything = (try? String(contentsOf: spansFile, encoding: .utf8)) ?? ""
        #expect(!everything.contains(secret), "no param's value is in a span")
        #expect(!everything.contains(partyID), "no result's value is in a span")
        #expect(!everything.contains(orgA.apiKey), "no key is in a span")

        // The call's log line carries its span's trace id.
        let traceID = try #require(create["trace_id"]?.stringValue)
        let lines = server.output.split(separator: "\n").compactMap { try? JSONParser.parse(Array($0.utf8)) }
        let done = lines.first { $0["message"]?.stringValue == "call done" && $0["request"]?.stringValue == requestID }
        #expect(done?["trace_id"]?.stringValue == traceID, "log line: \(String(describing: done))")
    }

    @Test("an OTLP protocol this build cannot export (gRPC, a typo) stops start-up with a message naming the variable")
    func invalidConfiguration() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("engagement-tracing-bad-\(randomToken(bytes: 4))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        registerCleanup { try? FileManager.default.removeItem(at: directory) }
        let deployment = try await TestCluster.shared.deployment("tracing-bad")
        let server = try ServerProcess.start(
            deployment, base: try await TestCluster.shared.base(), directory: directory,
            settings: ["ENGAGEMENT_TRACING": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"])
        let exit = try await server.waitForExit()
        #expect(exit.status == 64, "a usage error, not a crash: \(exit.status)")  // EX_USAGE
        #expect(server.output.contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc"), "the message names the variable: \(server.output.suffix(800))")
    }
}

import EngagementClient
import EngagementService
import Foundation
import JSONRPC
import Testing

/// Every JSON-RPC 2.0 rule, checked over a real TLS socket against a running server.
@Suite("JSON-RPC 2.0 over TLS")
struct ProtocolTests {
    @Test("a single call is answered with its result and its id echoed exactly")
    func singleCallEchoesIDs() async throws {
        let server = try await ServerFixture.start("ids")
        try await server.scoped {
            let client = try await server.connect()
            for id in ["\"abc\"", "7", "1.50", "-0", "1e3", "12345678901234567890", "\"\"", "\"\\u00e9\\n\""] {
                try await client.send(line: #"{"jsonrpc":"2.0","method":"system.ping","id":"# + id + "}")
                let line = try #require(try await client.nextLine())
                let text = String(decoding: line, as: UTF8.self)
                #expect(text.hasSuffix(",\"id\":\(id == "\"\\u00e9\\n\"" ? "\"é\\n\"" : id)}"), "reply was \(text)")
                #expect(text.contains("\"result\":{\"status\":\"ok\""))
            }
            let reply = try #require(try await client.exchange(#"{"jsonrpc":"2.0","method":"system.ping","id":null}"#))
            #expect(reply["id"] == .null)
            #expect(reply["result"]?["status"] == "ok")
        }
    }

    @Test("notifications get no reply, also inside batches; an all-notification batch gets nothing at all")
    func notificationsAreNotAnswered() async throws {
        let server = try await ServerFixture.start("notify")
        try await server.scoped {
            let client = try await server.connect()
            try await client.send(line: #"{"jsonrpc":"2.0","method":"system.ping"}"#)
            try await client.send(line: #"{"jsonrpc":"2.0","method":"no.such.method"}"#)
            try await client.send(line: #"[{"jsonrpc":"2.0","method":"system.ping"},{"jsonrpc":"2.0","method":"system.ping"}]"#)
            try await client.send(line: #"{"jsonrpc":"2.0","method":"system.ping","id":"after"}"#)
            let first = try #require(try await client.nextMessage())
            #expect(first["id"] == "after", "the first reply must be the call's; got \(JSONWriter.string(first))")
            await #expect(throws: RPCClientError.self) { _ = try await client.nextLine(timeout: .milliseconds(300)) }

            // In a mixed batch only the calls are answered.
            try await client.send(line: #"[{"jsonrpc":"2.0","method":"system.ping"},{"jsonrpc":"2.0","method":"system.ping","id":1},{"jsonrpc":"2.0","method":"nope"}]"#)
            let batch = try #require(try await client.nextMessage()?.arrayValue)
            #expect(batch.count == 1)
            #expect(batch.first?["id"] == 1)
        }
    }

    @Test("batches: an empty one is one Invalid Request, invalid members get one error each, ids are kept")
    func batches() async throws {
        let server = try await ServerFixture.start("batch")
        try await server.scoped {
            let client = try await server.connect()

            let empty = try #require(try await client.exchange("[]"))
            #expect(empty.arrayValue == nil, "an empty batch gets a single error, not an array")
            #expect(empty.errorCode == -32600)
            #expect(empty["id"] == .null)

            let junk = try #require(try await client.exchange("[1,2,3]")?.arrayValue)
            #expect(junk.count == 3)
            #expect(junk.allSatisfy { $0.errorCode == -32600 && $0["id"] == .null })

            let mixed = try #require(try await client.exchange(
                #"[{"jsonrpc":"2.0","method":"system.ping","id":"p"},{"foo":"boo"},{"jsonrpc":"2.0","method":"nope","id":"n"},{"jsonrpc":"2.0","method":"session.whoami","id":"w"}]"#
            )?.arrayValue)
            #expect(mixed.count == 4)
            #expect(mixed[0]["id"] == "p" && mixed[0]["result"] != nil)
            #expect(mixed[1].errorCode == -32600 && mixed[1]["id"] == .null)
            #expect(mixed[2].errorCode == -32601 && mixed[2]["id"] == "n")
            #expect(mixed[3].errorCode == -32001 && mixed[3]["id"] == "w")

            let tooMany = "[" + Array(repeating: #"{"jsonrpc":"2.0","method":"system.ping","id":1}"#, count: 101).joined(separator: ",") + "]"
            let refused = try #require(try await client.exchange(tooMany))
            #expect(refused.errorCode == -32600)
            #expect(refused.errorReason == "batch_too_large")
            #expect(refused["error"]?["data"]?["limit"] == 100)
        }
    }

    @Test("parse errors, invalid requests, unknown methods and invalid params get their codes")
    func errorCodes() async throws {
        let server = try await ServerFixture.start("codes")
        try await server.scoped {
            let client = try await server.connect()
            let cases: [(String, Int, JSONValue)] = [
                (#"{"jsonrpc":"2.0","method":"system.ping","id":1"#, -32700, .null),
                (#"{"jsonrpc":"2.0","method":"system.ping","id":1,}"#, -32700, .null),
                (#"{"jsonrpc":"2.0","method":"a","method":"b","id":1}"#, -32700, .null),
                (String(repeating: "[", count: 200) + String(repeating: "]", count: 200), -32700, .null),
                (#""just a string""#, -32600, .null),
                (#"{"jsonrpc":"1.0","method":"system.ping","id":1}"#, -32600, 1),
                (#"{"method":"system.ping","id":2}"#, -32600, 2),
                (#"{"jsonrpc":"2.0","method":1,"id":3}"#, -32600, 3),
                (#"{"jsonrpc":"2.0","method":"system.ping","params":"x","id":4}"#, -32600, 4),
                (#"{"jsonrpc":"2.0","method":"system.ping","id":{"a":1}}"#, -32600, .null),
                (#"{"jsonrpc":"2.0","method":"system.ping","id":5,"extra":true}"#, -32600, 5),
                (#"{"jsonrpc":"2.0","method":"system.nope","id":6}"#, -32601, 6),
                (#"{"jsonrpc":"2.0","method":"session.authenticate","params":{},"id":7}"#, -32602, 7),
                (#"{"jsonrpc":"2.0","method":"session.authenticate","params":{"api_key":42},"id":8}"#, -32602, 8),
                (#"{"jsonrpc":"2.0","method":"session.authenticate","params":{"api_key":"x","more":1},"id":9}"#, -32602, 9),
                (#"{"jsonrpc":"2.0","method":"session.authenticate","params":["a","b"],"id":10}"#, -32602, 10),
                (#"{"jsonrpc":"2.0","method":"system.ping","params":{"x":1},"id":11}"#, -32602, 11),
            ]
            for (line, code, id) in cases {
                let reply = try #require(try await client.exchange(line), "no reply to \(line)")
                #expect(reply.errorCode == code, "\(line) → \(JSONWriter.string(reply))")
                #expect(reply["id"] == id, "\(line) → \(JSONWriter.string(reply))")
                #expect(reply["jsonrpc"] == "2.0")
                #expect(reply["error"]?["data"]?["reason"]?.stringValue != nil, "every error carries data.reason")
            }
            // Field paths name the offending params.
            let typed = try #require(try await client.exchange(
                #"{"jsonrpc":"2.0","method":"session.authenticate","params":{"api_key":42,"more":1},"id":1}"#))
            let paths = Set(typed["error"]?["data"]?["fields"]?.arrayValue?.compactMap { $0["path"]?.stringValue } ?? [])
            #expect(paths == ["params.api_key", "params.more"])
            // After all of that the connection still works.
            #expect(try await client.call("system.ping")["result"]?["status"] == "ok")
        }
    }

    @Test("by-position params map onto the declared order")
    func positionalParams() async throws {
        let server = try await ServerFixture.start("positional")
        try await server.scoped {
            let client = try await server.connect()
            let reply = try await client.call("session.authenticate", [.string(server.orgA.apiKey)])
            #expect(reply["result"]?["organisation_id"]?.stringValue == server.orgA.id.uuidString.lowercased())
        }
    }

    @Test("invalid UTF-8 is a parse error and the connection goes on; CRLF and LF both end lines; blank lines are ignored")
    func bytesAndLineEndings() async throws {
        let server = try await ServerFixture.start("bytes")
        try await server.scoped {
            let client = try await server.connect()
            try await client.send(Array(#"{"jsonrpc":"2.0","method":"system.ping","id":""#.utf8) + [0xC3, 0x28] + Array("\"}\n".utf8))
            let invalid = try #require(try await client.nextMessage())
            #expect(invalid.errorCode == -32700)
            #expect(invalid.errorReason == "invalid_utf8")
            try await client.send(Array("\r\n   \n".utf8))
            try await client.send(Array("{\"jsonrpc\":\"2.0\",\"method\":\"system.ping\",\"id\":1}\r\n{\"jsonrpc\":\"2.0\",\"method\":\"system.ping\",\"id\":2}\n".utf8))
            var ids: Set<JSONValue> = []
            for _ in 0..<2 { ids.insert(try #require(try await client.nextMessage())["id"]!) }
            #expect(ids == [1, 2])
        }
    }

    @Test("the client's reply wait: a shorter deadline expires first and alone; the longer wait still gets its line")
    func clientWaitDeadlines() async throws {
        let server = try await ServerFixture.start("client-deadlines")
        try await server.scoped {
            let client = try await server.connect()
            let long = Task { try await client.nextLine(timeout: .seconds(20)) }
            try await Task.sleep(for: .milliseconds(100))
            let started = ContinuousClock.now
            await #expect(throws: RPCClientError.self) { try await client.nextLine(timeout: .milliseconds(200)) }
            #expect(ContinuousClock.now - started < .seconds(10), "the short wait did not wait for the long one's deadline")
            try await client.send(line: #"{"jsonrpc":"2.0","method":"system.ping","id":1}"#)
            let line = try #require(try await long.value)
            #expect(try JSONParser.parse(line)["id"] == 1)
        }
    }

    @Test("concurrent calls on one client connection each get their reply when the replies come out of order")
    func concurrentClientCalls() async throws {
        let server = try await ServerFixture.start("concurrent-calls", registry: TestMethods.registry)
        try await server.scoped {
            let client = try await server.connect()
            // The slow call reads first; the fast reply arrives first and is read by the slow call, which must
            // hand it over rather than keep it while the fast call waits for a line that never comes.
            async let slow = client.call("test.sleep", ["ms": 400], timeout: .seconds(10))
            try await Task.sleep(for: .milliseconds(100))
            async let fast = client.call("system.ping", timeout: .seconds(10))
            let (slowReply, fastReply) = try await (slow, fast)
            #expect(slowReply["result"] == true && fastReply["result"]?["status"] == "ok")
        }
    }

    @Test("pipelined calls are all answered, each with its own id")
    func pipelining() async throws {
        // The point is ids and completeness: on a loaded machine the hundred database calls may queue for a while.
        let server = try await ServerFixture.start("pipeline") { $0.databaseAcquireTimeout = .seconds(60) }
        try await server.scoped {
            let client = try await server.session(server.orgA)
            var lines: [UInt8] = []
            for index in 0..<200 {
                let method = index % 2 == 0 ? "system.ping" : "session.whoami"
                lines += Array(#"{"jsonrpc":"2.0","method":"\#(method)","id":\#(index)}"#.utf8) + [0x0A]
            }
            try await client.send(lines)
            var seen = Set<Int>()
            for _ in 0..<200 {
                let reply = try #require(try await client.nextMessage())
                #expect(reply["result"] != nil, "\(JSONWriter.string(reply))")
                seen.insert(try #require(reply["id"]?.intValue))
            }
            #expect(seen == Set(0..<200))
        }
    }

    @Test("a line longer than the limit gets -32600 naming the limit, then the connection closes; others are unaffected")
    func lineTooLong() async throws {
        let server = try await ServerFixture.start("longline") { $0.maximumLineBytes = 4096 }
        try await server.scoped {
            let bystander = try await server.connect()
            let client = try await server.connect()
            #expect(try await client.call("system.ping")["result"] != nil)
            let within = #"{"jsonrpc":"2.0","method":"system.ping","id":""# + String(repeating: "a", count: 3000) + #""}"#
            #expect(try await client.exchange(within)?["result"] != nil)
            try await client.send(Array(repeating: UInt8(ascii: "x"), count: 10_000))  // no newline needed to be refused
            let reply = try #require(try await client.nextMessage())
            #expect(reply.errorCode == -32600)
            #expect(reply.errorReason == "line_too_long")
            #expect(reply["error"]?["data"]?["limit"] == 4096)
            #expect(reply["error"]?["message"]?.stringValue?.contains("4096") == true)
            #expect(try await client.nextLine() == nil, "the server closes the connection")
            #expect(try await bystander.call("system.ping")["result"] != nil)
        }
    }

    @Test("rpc.discover is an OpenRPC document generated from the registry")
    func discovery() async throws {
        let registry = MethodRegistry.standard()
        let server = try await ServerFixture.start("discover")
        try await server.scoped {
            let client = try await server.connect()
            let document = try #require(try await client.call("rpc.discover")["result"])
            #expect(document["openrpc"]?.stringValue?.hasPrefix("1.") == true)
            let methods = try #require(document["methods"]?.arrayValue)
            #expect(methods.compactMap { $0["name"]?.stringValue } == registry.names)
            let authenticate = try #require(methods.first { $0["name"] == "session.authenticate" })
            let param = try #require(authenticate["params"]?.arrayValue?.first)
            #expect(param["name"] == "api_key")
            #expect(param["required"] == true)
            #expect(param["schema"]?["type"] == "string")
            #expect(authenticate["x-authentication"] == "none")
            let codes = Set(document["components"]?["x-error-codes"]?.arrayValue?.compactMap { $0["code"]?.intValue } ?? [])
            #expect(codes == Set(RPCErrorCode.allCases.map(\.rawValue)))
        }
    }
}

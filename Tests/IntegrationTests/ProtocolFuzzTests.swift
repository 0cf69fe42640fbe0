import EngagementClient
import EngagementService
import Foundation
import JSONRPC
import Testing

/// A grammar-based protocol fuzzer against the running server over TLS: lines built from JSON-RPC's grammar and
/// broken on purpose (deep nesting, huge numbers, duplicate keys, lone surrogates, NUL, lines near the length
/// limit, large batches, ids of every JSON type, wrong param types for every method `rpc.discover` lists),
/// authenticated and not, connections cut mid-line. Every reply is a valid JSON-RPC response that leaks nothing,
/// and the server keeps serving. Seeded, so a failure repeats: `PROTOCOL_FUZZ_SEED`, `PROTOCOL_FUZZ_LINES`
/// (default 1,500 in CI; the hand run of 2026-12-03 was 20,000).
@Suite("Protocol fuzzing over TLS")
struct ProtocolFuzzTests {
    /// A small deterministic generator (SplitMix64).
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
        mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    }

    static let leaks = AttackSuiteTests.leaks

    /// One JSON value of the hostile kind, as text.
    static func value(_ g: inout Generator, depth: Int = 0) -> String {
        switch g.below(depth > 3 ? 9 : 12) {
        case 0: return "null"
        case 1: return g.pick(["true", "false"])
        case 2: return g.pick(["0", "-0", "1e400", "-1e-400", "123456789012345678901234567890", "1.5", "2E+3", "0.000001"])
        case 3: return g.pick([#""""#, #""text""#, #""\u0000 nul""#, #""\ud800 lone""#, #""\udc00""#, #""😀 \u00e9""#, #""\\\"\/""#])
        case 4: return "\"\(String(repeating: "x", count: g.below(5000)))\""
        case 5: return g.pick(["\"4b0d6a52-5a0e-4d0b-9c3f-3f1d2c1b0a99\"", "\"2025-02\"", "\"2025-01-01\"", "\"EUR\""])
        case 6: return "\"" + g.pick(["'; DROP TABLE app.parties; --", "' OR 1=1 --", "$$", "%", "_"]) + "\""
        case 7: return g.pick(["nul", "tru", "{", "[", "]", "}", ",", ":", "\"open"])  // broken tokens
        case 8: return String(repeating: "[", count: 50 + g.below(200)) + String(repeating: "]", count: 50 + g.below(200))
        case 9: return "[" + (0..<g.below(4)).map { _ in value(&g, depth: depth + 1) }.joined(separator: ",") + "]"
        default:
            let keys = (0..<g.below(4)).map { _ in g.pick(["a", "id", "name", "a", "version", "params"]) }  // duplicates too
            return "{" + keys.map { "\"\($0)\":\(value(&g, depth: depth + 1))" }.joined(separator: ",") + "}"
        }
    }

    /// One request line: valid envelopes with hostile params mostly, broken envelopes and batches sometimes.
    static func line(_ g: inout Generator, methods: [(name: String, params: [String])]) -> String {
        let method = g.pick(methods)
        let id = g.pick(["1", "\"x\"", "null", "1.5", "-7", "\"\"", "[1]", "{}", "true"])
        var params = "{" + method.params.filter { _ in g.below(3) > 0 }.map { "\"\($0)\":\(value(&g))" }.joined(separator: ",") + "}"
        if g.below(6) == 0 { params = value(&g) }
        let request = #"{"jsonrpc":"2.0","method":"\#(method.name)","params":\#(params),"id":\#(id)}"#
        switch g.below(10) {
        case 0: return "[" + (0..<(1 + g.below(40))).map { _ in request }.joined(separator: ",") + "]"
        case 1: return value(&g)
        case 2: return #"{"jsonrpc":"1.0","method":"\#(method.name)","id":\#(id),"id":2}"#
        case 3: return String(request.prefix(1 + g.below(request.count)))  // never empty: a blank line gets no reply
        default: return request
        }
    }

    /// A reply is one of these, by the specification.
    static func checkReply(_ reply: JSONValue, _ sent: String) {
        func check(_ item: JSONValue) {
            #expect(item["jsonrpc"] == "2.0", "\(JSONWriter.string(item)) for \(sent.prefix(200))")
            #expect((item["result"] != nil) != (item["error"] != nil), "result xor error: \(JSONWriter.string(item))")
            if let error = item["error"] {
                #expect(error["code"]?.intValue != nil && error["message"]?.stringValue != nil && error["data"]?["reason"] != nil)
                #expect(error["code"]?.intValue != -32603, "internal error for \(sent.prefix(300))")
                let text = JSONWriter.string(error)
                for leak in leaks where text.contains(leak) { Issue.record("leaks \"\(leak)\": \(text)") }
            }
        }
        if case .array(let items) = reply { items.forEach(check) } else { check(reply) }
    }

    @Test("hostile lines, authenticated and not, cut mid-line: valid replies only, nothing leaked, the server keeps serving")
    func fuzz() async throws {
        let environment = ProcessInfo.processInfo.environment
        let seed = UInt64(environment["PROTOCOL_FUZZ_SEED"] ?? "") ?? 20261204
        let total = Int(environment["PROTOCOL_FUZZ_LINES"] ?? "") ?? 1_500
        let server = try await ServerFixture.start("protocol-fuzz") { $0.authenticationFailuresPerAddress = 100_000 }
        try await server.scoped {
            let probe = try await server.session(server.orgB)
            let document = try #require(try await probe.call("rpc.discover")["result"]?["methods"]?.arrayValue)
            let methods = document.compactMap { method -> (name: String, params: [String])? in
                guard let name = method["name"]?.stringValue else { return nil }
                return (name, (method["params"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue })
            }
            #expect(methods.count > 100)
            var g = Generator(state: seed)
            var sent = 0
            var replies = 0
            while sent < total {
                // A connection: authenticated half the time; some lines, then cut, sometimes mid-line.
                let client = g.below(2) == 0 ? try await server.session(server.orgA) : try await server.connect()
                for _ in 0..<(1 + g.below(40)) where sent < total {
                    let text = Self.line(&g, methods: methods)
                    sent += 1
                    try await client.send(line: text)
                    let reply = try await client.nextMessage(timeout: .seconds(30))
                    // A request with an id gets exactly one reply; an all-notification line gets none, which the
                    // next line's reply would answer: every line here has an id or is broken.
                    guard let reply else { break }  // the server closed (line too long): a new connection
                    replies += 1
                    Self.checkReply(reply, text)
                }
                if g.below(4) == 0 { try? await client.send(Array("{\"jsonrpc\":\"2.0\",\"meth".utf8)) }  // cut mid-line
                await client.close()
            }
            #expect(replies > total / 2, "\(replies) replies to \(sent) lines")
            #expect(try await probe.call("session.whoami")["result"] != nil, "the server still serves")
            #expect(try await server.session(server.orgA).call("system.ping")["result"]?["status"] == "ok")
        }
    }
}

import EngagementClient
import EngagementService
import Foundation
import JSONRPC
import PostgresClient
import Testing

/// Hostile strings in every string param of every method, from the registry (new methods are covered without
/// editing this): SQL injection payloads execute nothing and leak nothing, over-long strings are refused with
/// their path, and every answer is a result or one of the documented error codes.
@Suite("Attack suite")
struct AttackSuiteTests {
    static let payloads = [
        "'; DROP TABLE app.parties; --", "' OR '1'='1", "x\\'; SELECT pg_sleep(5); --", "$$; DROP SCHEMA app CASCADE; $$",
        "\") OR 1=1 --", "%' AND 1=(SELECT count(*) FROM app.organisations) --", "{\"$gt\": \"\"}", "../../etc/passwd",
        "<script>alert(1)</script>", "\u{202E}gnp.exe", "😀 ünïcødé ﷽",
    ]
    /// What no answer may contain: SQL, schema names, PostgreSQL's wording, source paths.
    static let leaks = ["syntax error", "SQL", "relation \"", "violates", "constraint \"", "ERROR:", "pg_", "plpgsql", "CONTEXT",
                        "app.", "api.", ".swift", "Fatal", "DETAIL"]
    static let documentedCodes: Set<Int> = [-32600, -32602, -32001, -32002, -32003, -32004, -32005, -32006, -32007]

    @Test("SQL injection and over-long strings in every string param: documented codes only, no leak, nothing executed")
    func hostileStrings() async throws {
        let server = try await ServerFixture.start("attack")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let owner = try server.ownerConnection()
            defer { owner.close() }
            func tables() throws -> Int { try owner.query("SELECT count(*) FROM pg_tables WHERE schemaname IN ('app', 'meta')").int(0, 0) ?? -1 }
            let tablesBefore = try tables()
            var calls = 0
            var results = 0
            for method in MethodRegistry.standard().definitions where method.name != "session.authenticate" {
                guard case .role = method.access else { continue }
                for field in method.params {
                    guard case .string(_, let maxLength, _, _) = Self.unwrapped(field.schema) else { continue }
                    var base = JSONObject()
                    for other in method.params where other.required { base[other.name] = IsolationMatrixTests.sample(other.schema) }
                    let oversized = String(repeating: "a", count: (maxLength ?? 100_000) + 1)
                    for value in Self.payloads + [oversized] {
                        var params = base
                        params[field.name] = .string(value)
                        let reply = try await client.call(method.name, .object(params))
                        calls += 1
                        let text = JSONWriter.string(reply)
                        if let code = reply.errorCode {
                            #expect(Self.documentedCodes.contains(code), "\(method.name).\(field.name): \(text)")
                        } else {
                            #expect(reply["result"] != nil, "\(method.name).\(field.name): \(text)")
                            results += 1
                        }
                        if value == oversized, maxLength != nil {
                            #expect(reply.errorCode == -32602, "\(method.name).\(field.name) over its length: \(text)")
                        }
                        let answer = reply["error"].map(JSONWriter.string) ?? ""
                        for leak in Self.leaks where answer.contains(leak) {
                            Issue.record("\(method.name).\(field.name) leaks \"\(leak)\": \(answer)")
                        }
                    }
                }
            }
            #expect(calls > 500, "every string param of every method: \(calls) calls")
            #expect(results > 0, "some payloads are valid text and were stored as such")
            #expect(try tables() == tablesBefore, "no table dropped")
            #expect(try owner.query("SELECT count(*) FROM app.organisations").int(0, 0) == 2, "nothing of the organisations touched")
            // Text that looks like SQL is stored as text.
            let stored = try #require(try await client.call("party.create", ["name": .string(Self.payloads[0]), "kind": "customer"])["result"])
            #expect(try await client.call("party.get", ["id": stored["id"]!])["result"]?["name"] == .string(Self.payloads[0]))
            #expect(try await server.session(server.orgB).call("session.whoami")["result"] != nil, "the server answers others still")
        }
    }

    static func unwrapped(_ schema: Schema) -> Schema {
        if case .nullable(let inner) = schema { return unwrapped(inner) }
        return schema
    }
}

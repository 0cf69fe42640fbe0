import EngagementClient
import EngagementService
import Foundation
import JSONRPC
import PostgresClient
import TenantAdministration
import Testing

/// Service, customer, partner and template of one organisation, made through the API.
struct EngagementWorld {
    let service: JSONValue
    let customer: JSONValue
    let partner: JSONValue
    let template: JSONValue

    static func make(_ client: RPCConnection, prefix: String = "") async throws -> EngagementWorld {
        func result(_ method: String, _ params: JSONValue) async throws -> JSONValue {
            let reply = try await client.call(method, params)
            return try #require(reply["result"], "\(method): \(JSONWriter.string(reply))")
        }
        let service = try await result("service.create", ["code": .string(prefix + "MITS"), "name": "Managed IT Support"])
        let customer = try await result("party.create", ["name": .string(prefix + "Acme Corp"), "kind": "customer"])
        let partner = try await result("party.create", ["name": .string(prefix + "Initech"), "kind": "delivery_partner"])
        let template = try await result("template.create", [
            "service_id": service["id"]!, "name": "Standard",
            "default_kpis": [["name": "Availability", "unit": "%", "target": .number("99.9"), "direction": "higher_is_better"]],
        ])
        return EngagementWorld(service: service, customer: customer, partner: partner, template: template)
    }

    func engagement(_ client: RPCConnection, code: String, withTemplate: Bool = true, extra: JSONObject = [:]) async throws -> JSONValue {
        var params: JSONObject = [
            "service_id": service["id"]!, "customer_party_id": customer["id"]!, "code": .string(code),
            "name": .string("Engagement \(code)"), "start_date": "2025-01-01", "end_date": "2025-12-31",
        ]
        if withTemplate { params["template_id"] = template["id"]! }
        for member in extra.members { params[member.key] = member.value }
        let reply = try await client.call("engagement.create", .object(params))
        return try #require(reply["result"], "\(JSONWriter.string(reply))")
    }
}

extension RPCConnection {
    /// Transitions and returns the reply (result or error).
    func move(_ engagement: JSONValue, to status: String, reason: String = "") async throws -> JSONValue {
        try await call("engagement.transition", [
            "id": engagement["id"]!, "version": engagement["version"]!, "to": .string(status), "reason": .string(reason),
        ])
    }
}

@Suite("Engagements")
struct EngagementTests {
    static let legal: Set<String> = ["draft>active", "active>on_hold", "on_hold>active", "active>completed", "on_hold>completed", "completed>archived"]
    static let paths: [String: [String]] = [
        "draft": [], "active": ["active"], "on_hold": ["active", "on_hold"], "completed": ["active", "completed"],
        "archived": ["active", "completed", "archived"],
    ]

    @Test("the whole lifecycle, with history; a template is needed to activate; archived ones leave default lists")
    func lifecycle() async throws {
        let server = try await ServerFixture.start("eng-life")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(a)
            var engagement = try await world.engagement(a, code: "E1", withTemplate: false)
            #expect(engagement["status"] == "draft")
            #expect(engagement["service"]?["code"] == "MITS" && engagement["customer"]?["name"] == "Acme Corp")
            #expect(engagement["deliverers"]?.arrayValue?.count == 1)
            #expect(engagement["deliverers"]?[0]?["role"] == "lead" && engagement["deliverers"]?[0]?["name"] == "Organisation A")

            let refused = try await a.move(engagement, to: "active")
            #expect(refused.errorCode == -32007 && refused.errorReason == "template_required")
            engagement = try #require(try await a.call("engagement.update", ["id": engagement["id"]!, "version": 1, "template_id": world.template["id"]!])["result"])
            for (status, reason) in [("active", "kick-off"), ("on_hold", "customer freeze"), ("active", "resumed"), ("completed", "done"), ("archived", "")] {
                let reply = try await a.move(engagement, to: status, reason: reason)
                engagement = try #require(reply["result"], "\(status): \(JSONWriter.string(reply))")
                #expect(engagement["status"] == .string(status))
            }
            let history = try #require(try await a.call("engagement.transitions", ["id": engagement["id"]!])["result"]?.arrayValue)
            #expect(history.map { "\($0["from"]!.stringValue!)>\($0["to"]!.stringValue!)" } == ["draft>active", "active>on_hold", "on_hold>active", "active>completed", "completed>archived"])
            #expect(history[1]["reason"] == "customer freeze")
            #expect(history.allSatisfy { $0["changed_by"] != .null })

            #expect(try await a.call("engagement.list")["result"]?["items"]?.arrayValue?.count == 0)
            #expect(try await a.call("engagement.list", ["include_archived": true])["result"]?["items"]?.arrayValue?.count == 1)
            #expect(try await a.call("engagement.list", ["status": "archived"])["result"]?["items"]?.arrayValue?.count == 1)
            #expect(try await a.call("engagement.get", ["id": engagement["id"]!])["result"]?["status"] == "archived")
        }
    }

    @Test("every illegal transition is refused through the API and directly in SQL")
    func illegalTransitions() async throws {
        let server = try await ServerFixture.start("eng-illegal")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(a)
            let owner = try server.ownerConnection()
            defer { owner.close() }
            var counter = 0
            for (from, path) in Self.paths {
                for to in ["draft", "active", "on_hold", "completed", "archived"] where !Self.legal.contains("\(from)>\(to)") && from != to {
                    counter += 1
                    var engagement = try await world.engagement(a, code: "X\(counter)")
                    for step in path { engagement = try #require(try await a.move(engagement, to: step)["result"]) }
                    #expect(engagement["status"] == .string(from))
                    let reply = try await a.move(engagement, to: to)
                    #expect(reply.errorCode == -32007 && reply.errorReason == "illegal_transition", "\(from)>\(to): \(JSONWriter.string(reply))")
                    #expect {
                        try owner.query("UPDATE app.engagements SET status = $1 WHERE id = $2::uuid", [to, engagement["id"]!.stringValue!])
                    } throws: { ($0 as? PostgresError)?.serverError?.sqlState.rawValue == "ES001" }
                    #expect(try await a.call("engagement.get", ["id": engagement["id"]!])["result"]?["status"] == .string(from))
                }
            }
            #expect(counter == 14)
            // psql users obey the other rules too: drafts only at creation, a template before activation.
            #expect {
                try owner.query(
                    "INSERT INTO app.engagements (organisation_id, service_id, customer_party_id, code, name, status) VALUES ($1::uuid, $2::uuid, $3::uuid, 'SQL1', 'x', 'active')",
                    [server.orgA.id, world.service["id"]!.stringValue!, world.customer["id"]!.stringValue!])
            } throws: { ($0 as? PostgresError)?.serverError?.sqlState.rawValue == "EV004" }
            let bare = try await world.engagement(a, code: "BARE", withTemplate: false)
            #expect {
                try owner.query("UPDATE app.engagements SET status = 'active' WHERE id = $1::uuid", [bare["id"]!.stringValue!])
            } throws: { ($0 as? PostgresError)?.serverError?.sqlState.rawValue == "ES002" }
        }
    }

    @Test("references are checked: wrong kind, another organisation's id, inconsistent dates")
    func references() async throws {
        let server = try await ServerFixture.start("eng-refs")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let b = try await server.session(server.orgB)
            let world = try await EngagementWorld.make(a)
            let other = try await EngagementWorld.make(b, prefix: "B-")
            func path(_ reply: JSONValue) -> String? { reply["error"]?["data"]?["fields"]?[0]?["path"]?.stringValue }

            let partnerAsCustomer = try await a.call("engagement.create", [
                "service_id": world.service["id"]!, "customer_party_id": world.partner["id"]!, "code": "K1", "name": "x"])
            #expect(partnerAsCustomer.errorCode == -32602 && path(partnerAsCustomer) == "params.customer_party_id")

            var replies: [JSONValue] = []
            for service in [other.service["id"]!, .string(UUID().uuidString.lowercased())] {
                let reply = try await a.call("engagement.create", [
                    "service_id": service, "customer_party_id": world.customer["id"]!, "code": "K2", "name": "x"])
                #expect(reply.errorCode == -32602 && path(reply) == "params.service_id")
                replies.append(reply["error"]!)
            }
            #expect(replies[0] == replies[1], "B's service and a missing one are indistinguishable")
            let foreignCustomer = try await a.call("engagement.create", [
                "service_id": world.service["id"]!, "customer_party_id": other.customer["id"]!, "code": "K3", "name": "x"])
            #expect(path(foreignCustomer) == "params.customer_party_id")
            let backwards = try await a.call("engagement.create", [
                "service_id": world.service["id"]!, "customer_party_id": world.customer["id"]!, "code": "K4", "name": "x",
                "start_date": "2025-06-01", "end_date": "2025-01-01"])
            #expect(backwards.errorCode == -32602 && path(backwards) == "params.end_date")
            #expect(try await a.call("engagement.list", ["include_archived": true])["result"]?["items"]?.arrayValue?.count == 0, "nothing was written")
        }
    }

    @Test("delivery parties: the organisation leads by default, partners can join, the last one stays")
    func deliverers() async throws {
        let server = try await ServerFixture.start("eng-deliver")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(a)
            let engagement = try await world.engagement(a, code: "D1")
            let selfParty = try #require(engagement["deliverers"]?[0]?["party_id"])
            let added = try await a.call("engagement.add_deliverer", ["id": engagement["id"]!, "party_id": world.partner["id"]!, "role": "subcontractor"])
            #expect(added["result"]?["deliverers"]?.arrayValue?.count == 2)
            #expect(try await a.call("engagement.add_deliverer", ["id": engagement["id"]!, "party_id": world.customer["id"]!]).errorCode == -32602)
            let removed = try await a.call("engagement.remove_deliverer", ["id": engagement["id"]!, "party_id": selfParty])
            #expect(removed["result"]?["deliverers"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["Initech"])
            let last = try await a.call("engagement.remove_deliverer", ["id": engagement["id"]!, "party_id": world.partner["id"]!])
            #expect(last.errorCode == -32007 && last.errorReason == "last_deliverer")
            #expect(try await a.call("party.delete", ["id": world.partner["id"]!, "version": 1]).errorReason == "in_use")
        }
    }

    @Test("only drafts can be deleted; services and customers in use cannot be")
    func deletion() async throws {
        let server = try await ServerFixture.start("eng-delete")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(a)
            let draft = try await world.engagement(a, code: "DEL1")
            let active = try #require(try await a.move(try await world.engagement(a, code: "DEL2"), to: "active")["result"])
            #expect(try await a.call("engagement.delete", ["id": active["id"]!, "version": active["version"]!]).errorReason == "not_draft")
            #expect(try await a.call("service.delete", ["id": world.service["id"]!, "version": 1]).errorReason == "in_use")
            #expect(try await a.call("party.delete", ["id": world.customer["id"]!, "version": 1]).errorReason == "in_use")
            #expect(try await a.call("engagement.delete", ["id": draft["id"]!, "version": 1])["result"]?["deleted"] == true)
        }
    }

    @Test("another organisation cannot see or touch an engagement; viewers cannot write")
    func isolationAndRoles() async throws {
        let server = try await ServerFixture.start("eng-iso")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let b = try await server.session(server.orgB)
            let world = try await EngagementWorld.make(a)
            let engagement = try await world.engagement(a, code: "ISO1")
            let id = engagement["id"]!
            let attempts: [(String, JSONValue)] = [
                ("engagement.get", ["id": id]), ("engagement.transitions", ["id": id]),
                ("engagement.update", ["id": id, "version": 1, "name": "mine"]),
                ("engagement.transition", ["id": id, "version": 1, "to": "active"]),
                ("engagement.delete", ["id": id, "version": 1]),
                ("engagement.add_deliverer", ["id": id, "party_id": world.partner["id"]!]),
                ("engagement.remove_deliverer", ["id": id, "party_id": world.partner["id"]!]),
                ("template.get", ["id": world.template["id"]!]),
            ]
            for (method, params) in attempts {
                let reply = try await b.call(method, params)
                #expect(reply.errorCode == -32003 && reply["error"]?["message"] == "Not found", "\(method): \(JSONWriter.string(reply))")
            }
            #expect(try await a.call("engagement.get", ["id": id])["result"] == engagement, "unchanged")

            let owner = try server.ownerConnection()
            defer { owner.close() }
            let admin = TenantAdministrator(owner: owner)
            _ = try admin.createUser(organisationID: server.orgA.id, email: "v@a.example", name: "Viewer", role: .viewer)
            let viewer = try await server.connect()
            _ = try await viewer.call("session.authenticate", ["api_key": .string(try admin.issueKey(organisationID: server.orgA.id, userEmail: "v@a.example").key.text)])
            #expect(try await viewer.call("engagement.get", ["id": id])["result"] != nil)
            #expect(try await viewer.move(engagement, to: "active").errorCode == -32002)
            #expect(try await viewer.call("engagement.create", ["service_id": world.service["id"]!, "customer_party_id": world.customer["id"]!, "code": "V1", "name": "v"]).errorCode == -32002)
        }
    }

    @Test("list filters: status, service, customer, dates, text")
    func listFilters() async throws {
        let server = try await ServerFixture.start("eng-filter")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(a)
            _ = try await world.engagement(a, code: "F1", extra: ["start_date": "2024-01-01", "end_date": "2024-12-31"])
            let f2 = try await world.engagement(a, code: "F2", extra: ["name": "Cloud migration"])
            _ = try await a.move(f2, to: "active")
            func codes(_ params: JSONValue) async throws -> [String] {
                let reply = try await a.call("engagement.list", params)
                return try #require(reply["result"]?["items"]?.arrayValue, "\(JSONWriter.string(reply))").compactMap { $0["code"]?.stringValue }
            }
            #expect(try await codes(["status": "active"]) == ["F2"])
            #expect(try await codes(["starts_until": "2024-06-30"]) == ["F1"])
            #expect(try await codes(["ends_from": "2025-01-01"]) == ["F2"])
            #expect(try await codes(["q": "cloud"]) == ["F2"])
            #expect(try await codes(["service_id": world.service["id"]!, "customer_party_id": world.customer["id"]!, "sort": "created_at"]) == ["F1", "F2"])
            #expect(try await a.call("engagement.list", ["starts_from": "2024-13-45"]).errorCode == -32602)
        }
    }

    @Test("a list page renders every engagement as engagement.get does: parents, children, deliverers, no service or customer lookups left out")
    func listRendersAsGet() async throws {
        let server = try await ServerFixture.start("eng-list-render")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let ids = try await RollupTests.buildAccount(a)  // a parent, children, a grandchild, contracts
            let world = try await EngagementWorld.make(a, prefix: "X-")
            let shared = try await world.engagement(a, code: "X1")
            _ = try await a.call("engagement.add_deliverer", ["id": shared["id"]!, "party_id": world.partner["id"]!, "role": "subcontractor"])
            var listed: [JSONValue] = []
            var cursor: JSONValue = .null
            repeat {  // pages of two, so page boundaries and cursors are crossed
                var params: JSONObject = ["limit": 2, "include_archived": true, "sort": "created_at"]
                if cursor != .null { params["cursor"] = cursor }
                let page = try #require(try await a.call("engagement.list", .object(params))["result"])
                listed += page["items"]?.arrayValue ?? []
                cursor = page["next_cursor"] ?? .null
            } while cursor != .null
            #expect(listed.count == ids.count + 1)
            for item in listed {
                let got = try await a.call("engagement.get", ["id": item["id"]!])["result"]
                #expect(got.map(JSONWriter.string) == JSONWriter.string(item), "\(item["code"] ?? .null)")
            }
            #expect(listed.contains { $0["children_count"] == 3 } && listed.contains { $0["deliverers"]?.arrayValue?.count == 2 })
            #expect(try await a.call("engagement.list", ["q": "nothing matches this"])["result"]?["items"] == [])
        }
    }
}

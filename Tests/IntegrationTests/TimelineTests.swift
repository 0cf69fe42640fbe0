import EngagementClient
import EngagementService
import Foundation
import JSONRPC
import PostgresClient
import TenantAdministration
import Testing

/// The timeline: entries written by the database for API and psql changes alike, filters, paging both ways,
/// subtrees, full-text search, and isolation of all of it.
@Suite("Timeline")
struct TimelineTests {
    func items(_ reply: JSONValue) -> [JSONValue] { reply["result"]?["items"]?.arrayValue ?? [] }

    @Test("every kind of change lands on the timeline when it commits, psql writes included")
    func entries() async throws {
        let server = try await ServerFixture.start("timeline")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            var tracked = try await TrackedEngagement.make(a)
            _ = try #require(try await tracked.submit("2025-01", ["notes": "first month", "kpis": [["kpi": "Availability", "actual": .number("99.95")]]])["result"])
            let risk = try #require(try await a.call("risk.raise", [
                "engagement_id": tracked.id, "title": "Firewall migration slips", "probability": "high", "impact": "high"])["result"])
            _ = try #require(try await a.call("touchpoint.create", [
                "engagement_id": tracked.id, "kind": "qbr", "title": "Quarterly review", "held_at": "2025-03-10T10:00:00Z",
                "notes": "Discussed the firewall rollout", "action_items": [["title": "Send minutes"]]])["result"])
            _ = try #require(try await a.call("objective.create", [
                "engagement_id": tracked.id, "title": "Zero downtime", "initiatives": [["title": "Cutover plan", "type": "remediation"]]])["result"])
            let current = try #require(try await a.call("engagement.get", ["id": tracked.id])["result"])
            tracked.engagement = try #require(try await a.call("engagement.set_stage", [
                "id": tracked.id, "version": current["version"]!, "stage": "adoption", "reason": "live"])["result"])
            _ = try #require(try await a.call("timeline.note", ["engagement_id": tracked.id, "title": "Call with the CIO",
                                                                 "body": "Budget approved for next year"])["result"])
            try await tracked.move(to: "on_hold")
            // A psql write by the owner: the same trigger writes its entry.
            let owner = try server.ownerConnection()
            defer { owner.close() }
            _ = try owner.query("UPDATE app.risk_signals SET status = 'resolved', resolution = 'fixed by hand' WHERE id = $1::uuid",
                                [UUID(uuidString: risk["id"]!.stringValue!)!])

            let timeline = items(try await a.call("timeline.list", ["engagement_id": tracked.id, "order": "asc", "limit": 200]))
            let types = timeline.compactMap { $0["type"]?.stringValue }
            for expected in ["engagement_created", "status_changed", "check_in", "health_band", "risk_raised", "touchpoint",
                             "action_item", "objective", "initiative", "stage_changed", "note", "risk_resolved"] {
                #expect(types.contains(expected), "\(expected) missing from \(types)")
            }
            #expect(types.first == "engagement_created" && types.last == "risk_resolved", "\(types)")
            let resolved = try #require(timeline.last)
            #expect(resolved["actor_user_id"] == .null && resolved["body"] == "fixed by hand", "psql: no API user")
            let stage = try #require(timeline.first { $0["type"] == "stage_changed" })
            #expect(stage["title"] == "Journey stage onboarding → adoption" && stage["body"] == "live")
            let onHold = try #require(timeline.last { $0["type"] == "status_changed" })
            #expect(onHold["title"] == "Status active → on_hold")
            // The entry types the server declares are the database's.
            let declared = try owner.query("SELECT array_to_string(app.timeline_entry_types(), ',')").string(0, 0)
            let list = try #require(MethodRegistry.standard().definitions.first { $0.name == "timeline.list" })
            guard case .array(let items, _)? = list.params.first(where: { $0.name == "types" })?.schema,
                  case .enumeration(let values) = items else { Issue.record("types is an array of an enumeration"); return }
            #expect(declared == values.joined(separator: ","))
        }
    }

    @Test("contract and SLA changes, hierarchy moves, amendments, plays, tasks, objectives, initiatives and blueprints are on the timeline too")
    func moreSources() async throws {
        let server = try await ServerFixture.start("timeline-more")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let parent = try await TrackedEngagement.make(a, code: "P1")
            let contract = try #require(try await a.call("contract.create", [
                "customer_party_id": parent.world.customer["id"]!, "reference": "K-7", "title": "Support", "contract_type": "fixed_fee",
                "total_value": 1000, "currency": "EUR", "start_date": "2025-01-01"])["result"])
            let draft = try await parent.world.engagement(a, code: "C1", extra: ["contract_id": contract["id"]!])
            let child = TrackedEngagement(client: a, world: parent.world, engagement: try #require(try await a.move(draft, to: "active")["result"]))
            let current = try #require(try await a.call("engagement.get", ["id": child.id])["result"])
            _ = try #require(try await a.call("engagement.set_parent", ["id": child.id, "version": current["version"]!, "parent_id": parent.id])["result"])
            _ = try #require(try await a.call("contract.update", ["id": contract["id"]!, "version": contract["version"]!, "title": "Support plus"])["result"])
            _ = try #require(try await a.call("contract.add_sla_term", [
                "id": contract["id"]!, "metric": "availability", "target": 99, "comparison": ">=", "measurement_period": "monthly"])["result"])
            let checkIn = try #require(try await child.submit("2025-01")["result"])
            _ = try #require(try await a.call("checkin.amend", ["id": checkIn["id"]!, "version": checkIn["version"]!, "notes": "fixed"])["result"])
            let playbook = try #require(try await a.call("playbook.create", ["name": "Kick-off", "steps": [["title": "Call"]]])["result"])
            let run = try #require(try await a.call("playbook.start", ["playbook_id": playbook["id"]!, "engagement_id": child.id])["result"])
            let task = try #require(run["tasks"]?[0])
            _ = try #require(try await a.call("playbook_task.update", ["id": task["id"]!, "version": task["version"]!, "status": "done"])["result"])
            let blueprint = try #require(try await a.call("blueprint.create", [
                "name": "Plan", "objectives": [["title": "Live", "initiatives": [["title": "Go", "type": "onboarding"]]]]])["result"])
            let applied = try #require(try await a.call("blueprint.apply", ["blueprint_id": blueprint["id"]!, "engagement_id": child.id])["result"])
            let objective = try #require(applied["objectives"]?[0])
            _ = try #require(try await a.call("objective.update", ["id": objective["id"]!, "version": objective["version"]!, "status": "at_risk"])["result"])
            let initiative = try #require(objective["initiatives"]?[0])
            _ = try #require(try await a.call("initiative.update", ["id": initiative["id"]!, "version": initiative["version"]!, "stage": "in_progress"])["result"])

            let entries = try #require(try await a.call("timeline.list", ["engagement_id": child.id, "order": "asc", "limit": 200])["result"]?["items"]?.arrayValue)
            func titles(_ type: String) -> [String] { entries.filter { $0["type"]?.stringValue == type }.compactMap { $0["title"]?.stringValue } }
            #expect(titles("hierarchy_moved") == ["Moved under P1"])
            #expect(titles("contract_changed") == ["Contract K-7 changed (title)"])
            #expect(titles("sla_changed") == ["SLA term availability added on contract K-7"])
            #expect(titles("check_in_amended") == ["Check-in for 2025-01 amended (revision 2)"])
            #expect(titles("playbook_started") == ["Playbook Kick-off started"] && titles("playbook_finished") == ["Playbook Kick-off completed"])
            #expect(titles("task_done") == ["Task done: Call"])
            #expect(titles("blueprint_applied") == ["Blueprint Plan applied (version 1)"])
            #expect(titles("objective_status") == ["Objective Live: not_started → at_risk"])
            #expect(titles("initiative_stage") == ["Initiative Go: planned → in_progress"])
            #expect(titles("objective") == ["Objective added: Live"] && titles("initiative") == ["Initiative added: Go (onboarding)"])
        }
    }

    @Test("filters, paging both ways, subtrees and full-text search with stemming; bad cursors are refused")
    func listAndSearch() async throws {
        let server = try await ServerFixture.start("timeline-search")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let parent = try await TrackedEngagement.make(a, code: "P1")
            let child = try await TrackedEngagement.make(a, code: "C1")
            let current = try #require(try await a.call("engagement.get", ["id": child.id])["result"])
            _ = try #require(try await a.call("engagement.set_parent", ["id": child.id, "version": current["version"]!, "parent_id": parent.id])["result"])
            for n in 1...5 {
                _ = try #require(try await a.call("timeline.note", ["engagement_id": parent.id, "title": .string("Parent note \(n)")])["result"])
            }
            _ = try #require(try await a.call("timeline.note", ["engagement_id": child.id, "title": "Reviewed the firewalls",
                                                                 "body": "Migration of KEY-FW-7 to the new cluster"])["result"])
            // Newest first, two at a time, until the end; then oldest first.
            var seen: [String] = []
            var cursor: JSONValue? = nil
            repeat {
                var params: JSONObject = ["engagement_id": parent.id, "types": ["note"], "limit": 2]
                if let cursor { params["cursor"] = cursor }
                let reply = try await a.call("timeline.list", .object(params))
                let page = try #require(reply["result"], "\(JSONWriter.string(reply))")
                seen += (page["items"]?.arrayValue ?? []).compactMap { $0["title"]?.stringValue }
                cursor = page["next_cursor"] == .null ? nil : page["next_cursor"]
            } while cursor != nil
            #expect(seen == (1...5).reversed().map { "Parent note \($0)" })
            let oldest = items(try await a.call("timeline.list", ["engagement_id": parent.id, "types": ["note"], "order": "asc", "limit": 1]))
            #expect(oldest.first?["title"] == "Parent note 1")
            // The subtree includes the child's entries; the parent alone does not.
            let subtree = items(try await a.call("timeline.list", ["engagement_id": parent.id, "subtree": true, "types": ["note"]]))
            #expect(subtree.count == 6 && subtree.first?["engagement_id"] == child.id)
            #expect(items(try await a.call("timeline.list", ["engagement_id": parent.id, "types": ["note"]])).count == 5)
            // Search: stemmed ("firewall" finds "firewalls", "review" finds "Reviewed"), codes as typed, phrases.
            for q in ["firewall", "review", "KEY-FW-7", "\"new cluster\"", "migrating"] {
                let found = items(try await a.call("timeline.list", ["q": .string(q)]))
                #expect(found.map { $0["title"] } == ["Reviewed the firewalls"], "\(q): \(found.map { $0["title"] })")
            }
            #expect(items(try await a.call("timeline.list", ["q": "nothinglikethis"])).isEmpty)
            #expect(items(try await a.call("timeline.list", ["q": "note", "engagement_id": child.id])).isEmpty, "scoped to the engagement")
            // Time and actor filters.
            let me = try #require(try await a.call("session.whoami")["result"]?["user"]?["id"])
            #expect(items(try await a.call("timeline.list", ["actor_user_id": me, "types": ["note"]])).count == 6)
            #expect(items(try await a.call("timeline.list", ["from": "2999-01-01T00:00:00Z"])).isEmpty)

            for bad in ["not base64!", "bm90IGEgY3Vyc29y"] {
                let reply = try await a.call("timeline.list", ["cursor": .string(bad)])
                #expect(reply.errorCode == -32602 && reply.firstErrorPath == "params.cursor", "\(JSONWriter.string(reply))")
            }
        }
    }

    @Test("another organisation's entries are never listed or found, not even counted; its engagement is as missing as a made-up one")
    func isolation() async throws {
        let server = try await ServerFixture.start("timeline-isolation")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let b = try await server.session(server.orgB)
            let tracked = try await TrackedEngagement.make(a)
            _ = try #require(try await a.call("timeline.note", ["engagement_id": tracked.id, "title": "Secret merger codename Zebrafish"])["result"])
            #expect(items(try await b.call("timeline.list", ["q": "zebrafish"])).isEmpty)
            #expect(items(try await b.call("timeline.list", [:])).isEmpty, "B has no engagements, so no entries")
            let foreign = try await b.call("timeline.list", ["engagement_id": tracked.id])
            let missing = try await b.call("timeline.list", ["engagement_id": .string(UUID().uuidString.lowercased())])
            #expect(foreign.errorCode == -32003 && foreign["error"] == missing["error"])
            let note = try await b.call("timeline.note", ["engagement_id": tracked.id, "title": "B was here"])
            #expect(note.errorCode == -32003)
            // The DBA search function of B's login finds nothing of A's.
            let owner = try server.ownerConnection()
            defer { owner.close() }
            let role = try TenantAdministrator(owner: owner).createReportingRole(
                organisationID: server.orgB.id, name: "rpt_tl_\(UUID().uuidString.prefix(8).lowercased())")
            let dba = try PostgresConnection.connect(
                try Conninfo.replacing(["user": role.name, "password": role.password], in: try server.deployment.superuserURL))
            defer { dba.close() }
            try dba.executeScript("SET app.organisation_id = '\(server.orgA.id.uuidString.lowercased())'")
            #expect(try dba.query("SELECT count(*) FROM reporting.search_timeline('zebrafish')").int(0, 0) == 0)
            #expect(try dba.query("SELECT count(*) FROM reporting.timeline").int(0, 0) == 0)
        }
    }
}

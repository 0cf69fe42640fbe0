import EngagementClient
import Foundation
import JSONRPC
import PostgresClient
import Testing

/// Automated triggers: firing from changes (API and psql) and from the sweep, once per event, performed by the
/// server's worker through the outbox, retried after a failure without loss or duplication, and refused when
/// malformed.
@Suite("Trigger rules")
struct TriggerRuleTests {
    func firings(_ client: RPCConnection, _ params: JSONObject = [:]) async throws -> [JSONValue] {
        try await client.call("trigger.firings", .object(params))["result"]?["items"]?.arrayValue ?? []
    }

    /// Waits (up to 15 s) until every firing is done.
    func settled(_ client: RPCConnection) async throws -> [JSONValue] {
        for _ in 0..<60 {
            let all = try await firings(client)
            if !all.isEmpty, all.allSatisfy({ $0["status"] == "done" }) { return all }
            try await Task.sleep(for: .milliseconds(250))
        }
        return try await firings(client)
    }

    @Test("a health band turning red starts the remediation playbook and notifies, once; psql changes fire rules too")
    func firesFromChanges() async throws {
        let server = try await ServerFixture.start("triggers") { $0.triggerPollInterval = .milliseconds(500) }
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(a)
            let playbook = try #require(try await a.call("playbook.create", ["name": "Remediation", "steps": [["title": "Root-cause review"]]])["result"])
            let rule = try #require(try await a.call("trigger_rule.create", [
                "name": "Red means remediation", "event": "health_band", "event_params": ["band": "red"],
                "actions": [["action": "start_playbook", "playbook_id": playbook["id"]!],
                            ["action": "notify", "message": "health turned red"]]])["result"])
            // Availability at half its target: attainment 50, scored 0, red.
            _ = try #require(try await tracked.submit("2025-01", ["kpis": [["kpi": "Availability", "actual": 50]]])["result"])
            let done = try await settled(a)
            #expect(done.count == 1 && done.first?["rule_id"] == rule["id"], "\(done.map(JSONWriter.string))")
            #expect(done.first?["results"]?.arrayValue?.compactMap { $0["outcome"]?.stringValue } == ["done", "done"])
            let runs = try #require(try await a.call("playbook_run.list", ["engagement_id": tracked.id, "status": "running"])["result"]?.arrayValue)
            #expect(runs.map { $0["playbook"] } == ["Remediation"])
            let notes = try #require(try await a.call("timeline.list", ["engagement_id": tracked.id, "types": ["trigger_fired"]])["result"]?["items"]?.arrayValue)
            #expect(notes.first?["title"] == "Red means remediation: health turned red" && notes.first?["actor_user_id"] == .null)
            // Red again the next month: it did not *become* red, so nothing fires.
            _ = try #require(try await tracked.submit("2025-02", ["kpis": [["kpi": "Availability", "actual": 50]]])["result"])
            try await Task.sleep(for: .seconds(1))
            #expect(try await firings(a).count == 1)

            // A psql change fires a rule like an API change does.
            _ = try #require(try await a.call("trigger_rule.create", [
                "name": "Renewal prep", "event": "stage_changed", "event_params": ["to": "renewal"],
                "actions": [["action": "create_reminder", "title": "Prepare the renewal", "in_days": 3]]])["result"])
            let owner = try server.ownerConnection()
            defer { owner.close() }
            _ = try owner.query("UPDATE app.engagements SET journey_stage = 'renewal' WHERE id = $1::uuid", [UUID(uuidString: tracked.id.stringValue!)!])
            let all = try await settled(a)
            #expect(all.count == 2 && all.last?["event"] == "stage_changed")
            let reminders = try #require(try await a.call("reminder.list", ["engagement_id": tracked.id])["result"]?["items"]?.arrayValue)
            #expect(reminders.map { $0["title"] } == ["Prepare the renewal"])
            // The trigger's own changes fire nothing (the playbook start above made no firing of its own).
            #expect(try await firings(a, ["rule_id": rule["id"]!]).count == 1)
        }
    }

    @Test("a failing action is retried with backoff and never lost or doubled; time-driven events come from the sweep, once")
    func retriesAndSweeps() async throws {
        // The worker is off: the test runs it, as the server would.
        let server = try await ServerFixture.start("triggers-retry") { $0.triggerPollInterval = .zero }
        try await server.scoped {
            let a = try await server.session(server.orgA)
            var tracked = try await TrackedEngagement.make(a)
            _ = try #require(try await a.call("trigger_rule.create", [
                "name": "On hold is a risk", "event": "status_changed", "event_params": ["to": "on_hold"],
                "actions": [["action": "raise_risk", "title": "Engagement paused", "probability": "medium", "impact": "high"]]])["result"])
            try await tracked.move(to: "on_hold")
            let pending = try await firings(a)
            #expect(pending.count == 1 && pending.first?["status"] == "pending")

            // The worker's calls, made on the server's own role as the server makes them.
            let owner = try PostgresConnection.connect(try server.deployment.applicationURL)
            defer { owner.close() }
            // Another session holds the engagement's row: the risk's insert waits past the worker's lock timeout.
            let locker = try server.ownerConnection()
            defer { locker.close() }
            let id = UUID(uuidString: tracked.id.stringValue!)!
            try locker.executeScript("BEGIN")
            _ = try locker.query("SELECT 1 FROM app.engagements WHERE id = $1::uuid FOR UPDATE", [id])
            #expect(try owner.query("SELECT app.perform_trigger_firings()").int(0, 0) == 0)
            try locker.executeScript("ROLLBACK")
            let failed = try #require(try await firings(a).first)
            #expect(failed["status"] == "pending" && failed["attempts"] == 1)
            #expect(failed["last_error"]?.stringValue?.hasPrefix("55P03") == true, "lock timeout: \(JSONWriter.string(failed))")
            // Not due yet (backoff): nothing happens; once due, it is performed once.
            #expect(try owner.query("SELECT app.perform_trigger_firings()").int(0, 0) == 0)
            _ = try locker.query("UPDATE app.trigger_firings SET next_attempt_at = now() WHERE engagement_id = $1::uuid", [id])
            #expect(try owner.query("SELECT app.perform_trigger_firings()").int(0, 0) == 1)
            #expect(try owner.query("SELECT app.perform_trigger_firings()").int(0, 0) == 0)
            let risks = try #require(try await a.call("risk.list", ["engagement_id": tracked.id])["result"]?["items"]?.arrayValue)
            #expect(risks.map { $0["title"] } == ["Engagement paused"], "exactly one risk")

            // Time-driven: an overdue action item fires once however often the sweep runs.
            try await tracked.move(to: "active")
            _ = try #require(try await a.call("touchpoint.create", [
                "engagement_id": tracked.id, "kind": "meeting", "title": "Sync", "held_at": "2025-02-01T09:00:00Z",
                "action_items": [["title": "Send the report", "due_date": "2025-02-05"]]])["result"])
            _ = try #require(try await a.call("trigger_rule.create", [
                "name": "Chase overdue items", "event": "action_item_overdue",
                "actions": [["action": "notify", "message": "an action item is overdue"]]])["result"])
            #expect(try owner.query("SELECT app.sweep_trigger_events()").int(0, 0) == 1)
            #expect(try owner.query("SELECT app.sweep_trigger_events()").int(0, 0) == 0)
            #expect(try owner.query("SELECT app.perform_trigger_firings()").int(0, 0) == 1)
            #expect(try await firings(a, ["status": "pending"]).isEmpty)
        }
    }

    @Test("unknown events, actions and condition fields, another organisation's playbook, missing params: -32602 with the path")
    func badInput() async throws {
        let server = try await ServerFixture.start("triggers-bad")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let b = try await server.session(server.orgB)
            let playbookB = try #require(try await b.call("playbook.create", ["name": "B's", "steps": [["title": "x"]]])["result"])
            let notify: JSONValue = [["action": "notify", "message": "m"]]
            let cases: [(JSONValue, String)] = [
                (["name": "r", "event": "moon_phase", "actions": notify], "params.event"),
                (["name": "r", "event": "status_changed", "actions": [["action": "dance"]]], "params.actions[0].action"),
                (["name": "r", "event": "status_changed", "condition": ["colour": "red"], "actions": notify], "params.condition.colour"),
                (["name": "r", "event": "status_changed", "actions": [["action": "start_playbook", "playbook_id": playbookB["id"]!]]],
                 "params.actions[0].playbook_id"),
                (["name": "r", "event": "contract_ending", "actions": notify], "params.event_params.days"),
                (["name": "r", "event": "status_changed", "event_params": ["days": 3], "actions": notify], "params.event_params.days"),
                (["name": "r", "event": "status_changed", "actions": [["action": "raise_risk"]]], "params.actions[0].title"),
            ]
            for (params, path) in cases {
                let reply = try await a.call("trigger_rule.create", params)
                #expect(reply.errorCode == -32602 && reply.firstErrorPath == path, "\(path): \(JSONWriter.string(reply))")
            }
            #expect(try await a.call("trigger_rule.list")["result"]?["items"] == [], "nothing written")
            // A new event starts without the old event's params.
            let rule = try #require(try await a.call("trigger_rule.create", [
                "name": "r", "event": "status_changed", "event_params": ["to": "on_hold"], "actions": notify])["result"])
            let changed = try #require(try await a.call("trigger_rule.update", [
                "id": rule["id"]!, "version": rule["version"]!, "event": "risk_raised", "enabled": false])["result"])
            #expect(changed["event"] == "risk_raised" && changed["event_params"] == [:] && changed["enabled"] == false)
        }
    }
}

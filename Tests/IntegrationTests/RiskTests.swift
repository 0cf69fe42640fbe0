import DevEnvironment
import EngagementClient
import Foundation
import JSONRPC
import PostgresClient
import Testing

@Suite("Risk framework")
struct RiskTests {
    @Test("manual signals: severity from the matrix, value at risk in the contract's currency, update, resolve, filters, summary")
    func manualSignals() async throws {
        let server = try await ServerFixture.start("risk-manual")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(a)
            let noCurrency = try await a.call("risk.raise", [
                "engagement_id": tracked.id, "title": "Key person leaves", "probability": "high", "impact": "critical",
                "value_at_risk": 1000])
            #expect(noCurrency.errorCode == -32602 && noCurrency.firstErrorPath == "params.currency", "\(JSONWriter.string(noCurrency))")

            let contract = try #require(try await a.call("contract.create", [
                "customer_party_id": tracked.world.customer["id"]!, "reference": "R-1", "title": "Support",
                "contract_type": "fixed_fee", "total_value": 120000, "currency": "EUR", "start_date": "2025-01-01"])["result"])
            _ = try await a.call("engagement.update", ["id": tracked.id, "version": tracked.engagement["version"]!, "contract_id": contract["id"]!])
            let critical = try #require(try await a.call("risk.raise", [
                "engagement_id": tracked.id, "title": "Key person leaves", "probability": "high", "impact": "critical",
                "value_at_risk": .number("50000.00"), "category": "resourcing"])["result"])
            #expect(critical["severity"] == "critical" && critical["severity_score"] == 16, "high (4) × critical (4)")
            #expect(critical["currency"] == "EUR" && critical["source"] == "manual" && critical["status"] == "open")
            let low = try #require(try await a.call("risk.raise", [
                "engagement_id": tracked.id, "title": "Minor delay", "probability": "low", "impact": "medium"])["result"])
            #expect(low["severity"] == "medium" && low["severity_score"] == 4, "low (2) × medium (2) is medium")
            let tiny = try #require(try await a.call("risk.raise", [
                "engagement_id": tracked.id, "title": "Typo", "probability": "very_low", "impact": "high"])["result"])
            #expect(tiny["severity"] == "low" && tiny["severity_score"] == 3)

            let mitigating = try await a.call("risk.update", [
                "id": critical["id"]!, "version": critical["version"]!, "status": "mitigating", "impact": "high"])
            #expect(mitigating["result"]?["status"] == "mitigating" && mitigating["result"]?["severity"] == "high")
            let resolved = try await a.call("risk.resolve", [
                "id": low["id"]!, "version": low["version"]!, "resolution": "caught up"])
            #expect(resolved["result"]?["status"] == "resolved" && resolved["result"]?["resolved_at"] != .null)

            func titles(_ filter: JSONObject) async throws -> [String] {
                let reply = try await a.call("risk.list", .object(filter))
                return reply["result"]?["items"]?.arrayValue?.compactMap { $0["title"]?.stringValue }.sorted() ?? ["error \(JSONWriter.string(reply))"]
            }
            #expect(try await titles(["status": "mitigating"]) == ["Key person leaves"])
            #expect(try await titles(["severity": "low"]) == ["Typo"])
            #expect(try await titles(["probability": "low"]) == ["Minor delay"])
            #expect(try await titles(["category": "Resourcing"]) == ["Key person leaves"])
            #expect(try await titles(["engagement_id": tracked.id]).count == 3)

            let summary = try #require(try await a.call("risk.summary", ["engagement_id": tracked.id])["result"])
            func counts(_ key: String, _ names: [String]) -> [Int?] { names.map { summary[key]?[$0]?.intValue } }
            #expect(counts("by_status", ["open", "mitigating", "resolved", "dismissed"]) == [1, 1, 1, 0])
            #expect(counts("open_by_severity", ["low", "medium", "high", "critical"]) == [1, 0, 1, 0])
            #expect(counts("open_by_probability", ["very_low", "low", "medium", "high", "very_high"]) == [1, 0, 0, 1, 0])
            #expect(summary["open_value_at_risk"]?[0]?["currency"] == "EUR" && summary["open_value_at_risk"]?[0]?["amount"] == .number("50000.00"))
            #expect(summary["open_value_at_risk"]?.arrayValue?.count == 1)
            #expect(summary["top_open"]?[0]?["title"] == "Key person leaves")
        }
    }

    @Test("a threshold rule raises one signal while its condition holds, resolves it when it clears, and raises again")
    func ruleFiringAndClearing() async throws {
        let server = try await ServerFixture.start("risk-rules")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(a)
            _ = try await a.call("kpi.define", ["engagement_id": tracked.id, "name": "NPS", "target": 8])
            let rule = try #require(try await a.call("risk_rule.create", [
                "name": "Unhappy customer", "condition": "kpi", "kpi": "nps", "comparison": "<=", "threshold": 7,
                "title": "Customer satisfaction is low", "category": "relationship", "probability": "very_high", "impact": "high",
            ])["result"])
            func ruleSignals() async throws -> [JSONValue] {
                try #require(try await a.call("risk.list", ["engagement_id": tracked.id, "source": "rule"])["result"]?["items"]?.arrayValue)
            }
            func nps(_ period: String, _ value: Int) async throws {
                let reply = try await tracked.submit(period, ["kpis": [["kpi": "NPS", "actual": .number(String(value))]]])
                #expect(reply["result"] != nil, "\(JSONWriter.string(reply))")
            }
            try await nps("2025-01", 9)
            #expect(try await ruleSignals().isEmpty)
            try await nps("2025-02", 6)
            var signals = try await ruleSignals()
            #expect(signals.count == 1)
            #expect(signals.first?["rule_id"] == rule["id"]! && signals.first?["status"] == "open")
            #expect(signals.first?["severity"] == "critical" && signals.first?["category"] == "relationship")
            #expect(signals.first?["description"]?.stringValue?.contains("observed 6") == true, "\(signals)")
            try await nps("2025-03", 5)
            #expect(try await ruleSignals().count == 1, "one open signal per rule and engagement")
            try await nps("2025-04", 9)
            signals = try await ruleSignals()
            #expect(signals.count == 1 && signals.first?["status"] == "resolved", "cleared")
            #expect(signals.first?["resolution"]?.stringValue?.hasPrefix("Condition cleared") == true)
            try await nps("2025-05", 4)
            signals = try await ruleSignals()
            #expect(signals.count == 2 && signals.filter { $0["status"] == "open" }.count == 1, "broken again: a new signal")

            // Dismissed by hand while the condition holds: it stays dismissed.
            let open = try #require(signals.first { $0["status"] == "open" })
            _ = try await a.call("risk.resolve", ["id": open["id"]!, "version": open["version"]!, "status": "dismissed"])
            try await nps("2025-06", 3)
            #expect(try await ruleSignals().filter { $0["status"] == "open" }.isEmpty)

            // Changing the rule re-evaluates at once: NPS 3 is not <= 2, nothing new; >= 3 would hold again.
            let changed = try await a.call("risk_rule.update", ["id": rule["id"]!, "version": rule["version"]!, "threshold": 2])
            #expect(changed["result"]?["threshold"] == 2)
            #expect(try await ruleSignals().filter { $0["status"] == "open" }.isEmpty)
        }
    }

    @Test("months of one engagement written by one statement: the rules are evaluated once, at the latest month, with what month by month gives")
    func rulesOncePerEngagementAndCommit() async throws {
        let server = try await ServerFixture.start("risk-rules-once")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(a)
            _ = try await a.call("kpi.define", ["engagement_id": tracked.id, "name": "NPS", "target": 8])
            _ = try #require(try await a.call("risk_rule.create", [
                "name": "Unhappy customer", "condition": "kpi", "kpi": "nps", "comparison": "<=", "threshold": 7,
                "title": "Customer satisfaction is low", "category": "relationship", "probability": "high", "impact": "high",
            ])["result"])
            let superuser = try server.superuserConnection()
            defer { superuser.close() }
            _ = try superuser.query("SET track_functions = 'all'")
            _ = try superuser.query("SELECT pg_stat_reset_single_function_counters('app.evaluate_risk_rules'::regproc)")
            // Calls of the rule evaluation counted by PostgreSQL (flushed by the statement before the count).
            func evaluations() throws -> Int {
                _ = try superuser.query("SELECT pg_stat_force_next_flush()")
                return try superuser.query("SELECT coalesce(pg_stat_get_function_calls('app.evaluate_risk_rules'::regproc), 0)").int(0, 0) ?? -1
            }
            // One statement (one transaction), as a bulk load writes: three months, the latest with NPS 6.
            func months(_ values: [(String, Int)]) throws {
                let rows = values.map { "('\($0.0)'::date, \($0.1))" }.joined(separator: ", ")
                _ = try superuser.query("""
                    WITH engagement AS (
                        SELECT e.organisation_id, e.id, k.id AS kpi_id FROM app.engagements e
                        JOIN app.engagement_kpis k ON k.organisation_id = e.organisation_id AND k.engagement_id = e.id AND k.name = 'NPS'
                        WHERE e.id = $1::uuid),
                    written AS (
                        INSERT INTO app.check_ins (organisation_id, engagement_id, period)
                        SELECT e.organisation_id, e.id, m.period FROM engagement e, (VALUES \(rows)) m(period, nps)
                        RETURNING organisation_id, id, engagement_id, period)
                    INSERT INTO app.kpi_values (organisation_id, check_in_id, kpi_id, engagement_id, actual)
                    SELECT w.organisation_id, w.id, e.kpi_id, w.engagement_id, m.nps
                    FROM written w JOIN engagement e ON true JOIN (VALUES \(rows)) m(period, nps) ON m.period = w.period
                    """, [tracked.id.stringValue])
            }
            func ruleSignals() async throws -> [JSONValue] {
                try #require(try await a.call("risk.list", ["engagement_id": tracked.id, "source": "rule"])["result"]?["items"]?.arrayValue)
            }
            try months([("2025-02-01", 9), ("2025-03-01", 9), ("2025-04-01", 6)])
            #expect(try evaluations() == 1, "three months, one evaluation")
            let signals = try await ruleSignals()
            #expect(signals.count == 1 && signals.first?["status"] == "open", "the latest month's NPS 6 breaks the rule: \(signals)")
            #expect(signals.first?["description"]?.stringValue?.contains("observed 6") == true, "\(signals)")
            // An older month written alone is evaluated (nothing later of this transaction): the signal stays.
            try months([("2025-01-01", 3)])
            #expect(try evaluations() == 2)
            // Two later months, the latest clearing it: one more evaluation, and the signal is resolved.
            try months([("2025-05-01", 5), ("2025-06-01", 9)])
            #expect(try evaluations() == 3)
            let cleared = try await ruleSignals()
            #expect(cleared.count == 1 && cleared.first?["status"] == "resolved", "\(cleared)")
        }
    }

    @Test("a KPI rule's observation does not read through the organisation's KPI values, also in an organisation the planner's statistics have not seen")
    func kpiObservationStaysOffTheOrganisation() async throws {
        let deployment = try await TestCluster.shared.deployment("risk-observation-rows")
        let owner = try PostgresConnection.connect(try deployment.ownerURL)
        defer { owner.close() }
        let superuser = try PostgresConnection.connect(try deployment.superuserURL)
        defer { superuser.close() }
        // Statistics that know the first organisation; the second arrives after them (as a new customer's first
        // import does), so they promise a row or so for it wherever it is the condition.
        _ = try SeedData.seedOrganisation(owner: owner, seed: 7, index: 1, engagements: 40, depth: 2, months: 6)
        _ = try superuser.query("ANALYZE")
        let (organisation, _) = try SeedData.seedOrganisation(owner: owner, seed: 7, index: 2, engagements: 40, depth: 2, months: 6)
        let engagement = try #require(try owner.query("""
            SELECT e.id FROM app.engagements e
            WHERE e.organisation_id = $1 AND EXISTS (SELECT FROM app.kpi_values v WHERE v.organisation_id = e.organisation_id AND v.engagement_id = e.id)
            ORDER BY e.code LIMIT 1
            """, [organisation]).string(0, 0))
        let organisationRows = try owner.query("SELECT count(*) FROM app.kpi_values WHERE organisation_id = $1", [organisation]).int(0, 0) ?? -1
        // What the observation read, from this transaction's own counters (no other session's activity in them).
        _ = try superuser.query("BEGIN")
        let observed = try superuser.query("""
            SELECT app.rule_observation(r, $2::uuid, now()) FROM app.risk_rules r WHERE r.organisation_id = $1 AND r.condition = 'kpi'
            """, [organisation, engagement])
        #expect(observed.rowCount == 1 && observed.string(0, 0) != nil, "the seed's KPI rule observes the latest value")
        let read = try superuser.query("""
            SELECT sum(seq_tup_read + coalesce(idx_tup_fetch, 0))::int FROM pg_stat_xact_user_tables
            WHERE relid IN ('app.kpi_values'::regclass, 'app.check_ins'::regclass, 'app.engagement_kpis'::regclass)
            """).int(0, 0) ?? -1
        _ = try superuser.query("COMMIT")
        // Not necessarily the engagement's rows alone (with a row promised for the organisation, an index on
        // (organisation, period) serves the latest-first order as well), but never a pass over the organisation:
        // the join by KPI id alone read the organisation's KPI values again for each of them (18,341 rows here).
        #expect(read >= 1 && read < organisationRows, "rows read: \(read); the organisation has \(organisationRows) KPI values")
    }

    @Test("health band, finance variance and freshness rules; the periodic sweep catches time-driven breaches")
    func otherConditions() async throws {
        let server = try await ServerFixture.start("risk-conditions")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(a)
            _ = try await a.call("risk_rule.create", [
                "name": "Red", "condition": "health_band", "band": "red", "title": "Health is red", "impact": "high"])
            _ = try await a.call("risk_rule.create", [
                "name": "Overspend", "condition": "finance_variance", "comparison": ">", "threshold": 15,
                "title": "Actual cost more than 15 % over plan", "category": "financial"])
            // Cost 130 % of plan and availability at 50 %: attainment and budget both score 0 → red.
            let bad = try await tracked.submit("2025-01", [
                "finance": [["category": "labour_cost", "plan": 1000, "actual": 1300, "currency": "EUR"]],
                "kpis": [["kpi": "Availability", "actual": 50]]])
            #expect(bad["result"] != nil, "\(JSONWriter.string(bad))")
            let titles = try #require(try await a.call("risk.list", ["engagement_id": tracked.id, "status": "open"])["result"]?["items"]?.arrayValue)
                .compactMap { $0["title"]?.stringValue }.sorted()
            #expect(titles == ["Actual cost more than 15 % over plan", "Health is red"])

            let bad2 = try await a.call("risk_rule.create", ["name": "X", "condition": "kpi", "kpi": "Uptime", "comparison": "<", "threshold": 1, "title": "t"])
            #expect(bad2.errorCode == -32602 && bad2.firstErrorPath == "params.kpi", "a rule on an unknown metric")
            let bad3 = try await a.call("risk_rule.create", ["name": "Y", "condition": "health_band", "title": "t"])
            #expect(bad3.errorCode == -32602 && bad3.firstErrorPath == "params.band")
            let bad4 = try await a.call("risk_rule.create", ["name": "Z", "condition": "health_score", "comparison": "<", "title": "t"])
            #expect(bad4.errorCode == -32602 && bad4.firstErrorPath == "params.threshold")
            let bad5 = try await a.call("risk_rule.create", ["name": "W", "condition": "sentiment", "title": "t"])
            #expect(bad5.errorCode == -32602 && bad5.firstErrorPath == "params.condition")

            // Freshness: nothing is overdue yet; once the engagement has been active for a while without a newer
            // check-in, only the sweep can notice (no write happens).
            _ = try await a.call("risk_rule.create", [
                "name": "Stale", "condition": "freshness_days", "comparison": ">", "threshold": 60, "title": "No recent check-in"])
            func staleCount() async throws -> Int {
                try #require(try await a.call("risk.list", ["engagement_id": tracked.id, "status": "open"])["result"]?["items"]?.arrayValue)
                    .filter { $0["title"] == "No recent check-in" }.count
            }
            #expect(try await staleCount() == 0)
            let superuser = try server.superuserConnection()
            defer { superuser.close() }
            _ = try superuser.query(
                "UPDATE app.engagement_transitions SET changed_at = '2025-01-01T00:00:00Z' WHERE engagement_id = $1::uuid AND to_status = 'active'",
                [tracked.id.stringValue!])
            let owner = try server.ownerConnection()
            defer { owner.close() }
            #expect(try owner.query("SELECT app.sweep_risk_rules()").int(0, 0) == 1)
            #expect(try await staleCount() == 1)
            #expect(try owner.query("SELECT app.sweep_risk_rules()").int(0, 0) == 0, "nothing new on the next sweep")
        }
    }
}

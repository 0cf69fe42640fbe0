import EngagementClient
import Foundation
import JSONRPC
import PostgresClient
import Testing

/// SLA credits worked by hand: tiers, caps (percent, amount), the minimum, exclusions, quarterly measurement
/// weighted by minutes, fee bases (a fixed fee, the contract prorated, the finance plan), two currencies;
/// recomputed when inputs change; bad penalties refused with their path.
@Suite("SLA credits")
struct SLACreditTests {
    func path(_ reply: JSONValue) -> String? { reply["error"]?["data"]?["fields"]?[0]?["path"]?.stringValue }
    func summary(_ items: [JSONValue]) -> [String] {
        items.map { "\($0["period_start"]?.stringValue ?? "?") \($0["status"]?.stringValue ?? "?") \($0["credit"].map(JSONWriter.string) ?? "?")" }
    }

    @Test("tiers, caps, minimum, exclusions and fee bases, per month and per quarter, in two currencies")
    func credits() async throws {
        let server = try await ServerFixture.start("sla-credits")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(client)
            let contract = try #require(try await client.call("contract.create", [
                "customer_party_id": world.customer["id"]!, "reference": "SLA-EUR", "title": "Hosting", "contract_type": "fixed_fee",
                "total_value": 120000, "currency": "EUR", "start_date": "2025-01-01", "end_date": "2025-12-31"])["result"])
            let draft = try await world.engagement(client, code: "SLA-1", extra: ["contract_id": contract["id"]!])
            let engagement = try #require(try await client.move(draft, to: "active")["result"])
            // Term A: monthly, a fixed fee of 10,000 a month, tiers as the large cloud providers publish them, capped at 50 %.
            var terms = try #require(try await client.call("contract.add_sla_term", [
                "id": contract["id"]!, "metric": "Availability", "target": .number("99.99"), "comparison": ">=", "measurement_period": "monthly",
                "penalty": ["tiers": [["threshold": .number("99.99"), "credit_percent": 10], ["threshold": .number("99.0"), "credit_percent": 30],
                                      ["threshold": .number("95.0"), "credit_percent": 100]],
                            "cap_percent": 50, "period_fee": 10000]])["result"]?["sla_terms"]?.arrayValue)
            // Term B: quarterly, the contract's value prorated, fixed credits, a minimum of 100 and a cap of 300.
            terms = try #require(try await client.call("contract.add_sla_term", [
                "id": contract["id"]!, "metric": "availability", "target": .number("99.9"), "comparison": ">=", "measurement_period": "quarterly",
                "penalty": ["tiers": [["threshold": .number("99.9"), "credit_amount": 50], ["threshold": .number("99.0"), "credit_amount": 500]],
                            "cap_amount": 300, "minimum_amount": 100]])["result"]?["sla_terms"]?.arrayValue)
            let monthly = try #require(terms.first { $0["measurement_period"] == "monthly" }?["id"])
            let quarterly = try #require(terms.first { $0["measurement_period"] == "quarterly" }?["id"])
            for (month, value) in [("2025-01", "99.995"), ("2025-02", "99.5"), ("2025-03", "98.0"), ("2025-04", "90"), ("2025-05", "99.9"), ("2025-06", "99.98")] {
                let reply = try await client.call("checkin.submit", [
                    "engagement_id": engagement["id"]!, "period": .string(month), "kpis": [["kpi": "Availability", "actual": .number(value)]]])
                #expect(reply["result"] != nil, "\(JSONWriter.string(reply))")
            }
            func results(_ term: JSONValue) async throws -> [JSONValue] {
                let all = try #require(try await client.call("sla.credits", ["engagement_id": engagement["id"]!])["result"]?["items"]?.arrayValue)
                return all.filter { $0["term_id"] == term }
            }
            // Feb 10 % of 10,000; Mar 30 %; Apr 100 % capped at 50 %; May 99.9 < 99.99: 10 %; Jun 99.98: 10 %.
            let months = try await results(monthly)
            #expect(summary(months) == ["2025-01-01 met 0.00", "2025-02-01 breached 1000.00", "2025-03-01 breached 3000.00",
                                                            "2025-04-01 breached 5000.00", "2025-05-01 breached 1000.00", "2025-06-01 breached 1000.00"],
                    "\(summary(months))")
            // Q1 weighted by minutes: (99.995 × 44640 + 99.5 × 40320 + 98.0 × 44640) / 129600 = 99.1538: tier 1, 50 < minimum 100.
            // Q2: (90 × 43200 + 99.9 × 44640 + 99.98 × 43200) / 131040 = 96.6…: tier 2, 500 capped at 300.
            let quarters = try await results(quarterly)
            #expect(summary(quarters) == ["2025-01-01 breached 0.00", "2025-04-01 breached 300.00"], "\(summary(quarters))")
            #expect(quarters[0]["measured"] == .number("99.1538"))
            let q1 = try #require(try await client.call("sla.explain", ["engagement_id": engagement["id"]!, "term_id": quarterly, "period": "2025-02"])["result"])
            let credit = try #require(q1["explanation"]?["credit"])
            #expect(credit["before_limits"] == .number("50.00") && credit["below_minimum"] == true && credit["issued"] == 0, "\(JSONWriter.string(credit))")
            // The contract's 120,000 over 365 days, 90 of them in Q1.
            #expect(q1["fee"] == .number("29589.04") && q1["explanation"]?["fee"]?["basis"] == "contract")
            #expect(q1["explanation"]?["months"]?.arrayValue?.count == 3)

            // An exclusion of 60 minutes in May: its 44.64 minutes of downtime are all excluded, May is met, recomputed at once.
            let exclusion = try #require(try await client.call("sla.add_exclusion", [
                "term_id": monthly, "engagement_id": engagement["id"]!, "starts_at": "2025-05-10T01:00:00Z", "ends_at": "2025-05-10T02:00:00Z",
                "reason": "Planned maintenance"])["result"])
            #expect(exclusion["minutes"] == .number("60.00"))
            let may = try #require(try await client.call("sla.explain", ["engagement_id": engagement["id"]!, "term_id": monthly, "period": "2025-05"])["result"])
            #expect(may["status"] == "met" && may["adjusted"] == .number("100.0000") && may["excluded_minutes"] == .number("60.00") && may["credit"] == .number("0.00"),
                    "\(JSONWriter.string(may))")
            let overlap = try await client.call("sla.add_exclusion", [
                "term_id": monthly, "engagement_id": engagement["id"]!, "starts_at": "2025-05-10T01:30:00Z", "ends_at": "2025-05-10T03:00:00Z",
                "reason": "Twice"])
            #expect(overlap.errorCode == -32004 && path(overlap) == "params.starts_at", "\(JSONWriter.string(overlap))")
            // A better April, amended: recomputed too (99.5: tier 1, 1,000).
            let april = try #require(try await client.call("checkin.list", ["engagement_id": engagement["id"]!, "from": "2025-04", "to": "2025-04"])["result"]?["items"]?[0])
            let amended = try await client.call("checkin.amend", [
                "id": april["id"]!, "version": april["version"]!, "reason": "corrected monitoring export",
                "kpis": [["kpi": "Availability", "actual": .number("99.5")]]])
            #expect(amended["result"] != nil, "\(JSONWriter.string(amended))")
            let amendedMonths = try await results(monthly)
            #expect(summary(amendedMonths)[3] == "2025-04-01 breached 1000.00", "\(summary(amendedMonths))")

            // A second contract in USD: the finance plan's revenue is the fee.
            let usd = try #require(try await client.call("contract.create", [
                "customer_party_id": world.customer["id"]!, "reference": "SLA-USD", "title": "Desk", "contract_type": "retainer",
                "total_value": 50000, "currency": "USD", "start_date": "2025-01-01"])["result"])
            let second = try #require(try await client.move(try await world.engagement(client, code: "SLA-2", extra: ["contract_id": usd["id"]!]), to: "active")["result"])
            #expect(try await client.call("contract.add_sla_term", [
                "id": usd["id"]!, "metric": "Availability", "target": .number("99.9"), "comparison": ">=", "measurement_period": "monthly",
                "penalty": ["tiers": [["threshold": .number("99.9"), "credit_percent": 25]], "fee_basis": "finance_plan"]])["result"] != nil)
            #expect(try await client.call("checkin.submit", [
                "engagement_id": second["id"]!, "period": "2025-01", "kpis": [["kpi": "Availability", "actual": 99]],
                "finance": [["category": "revenue", "plan": 8000, "actual": 8000, "currency": "USD"]]])["result"] != nil)
            let usdCredits = try #require(try await client.call("sla.credits", ["contract_id": usd["id"]!])["result"])
            let usdTotal = try #require(usdCredits["totals"]?.arrayValue?.first)
            #expect(usdCredits["totals"]?.arrayValue?.count == 1 && usdTotal["currency"] == "USD" && usdTotal["credits"] == .number("2000.00")
                    && usdTotal["breaches"] == 1, "25 % of the 8,000 planned revenue: \(JSONWriter.string(usdCredits))")

            // Revenue at risk in plan against actual, and the credits rolled up to a parent per currency.
            let plan = try #require(try await client.call("report.plan_vs_actual", ["engagement_id": engagement["id"]!])["result"])
            // Monthly 1,000 + 3,000 + 1,000 (April amended) + 1,000; both quarters breached, neither issued after the amendment.
            let atRisk = try #require(plan["revenue_at_risk"]?.arrayValue)
            #expect(atRisk.count == 1 && atRisk[0]["currency"] == "EUR" && atRisk[0]["sla_credits"] == .number("6000.00")
                    && atRisk[0]["breached_periods"] == 6, "\(JSONWriter.string(plan["revenue_at_risk"] ?? .null))")
            let parent = try await world.engagement(client, code: "SLA-PARENT")
            for child in [engagement, second] {
                let current = try #require(try await client.call("engagement.get", ["id": child["id"]!])["result"])
                #expect(try await client.call("engagement.set_parent", ["id": child["id"]!, "version": current["version"]!, "parent_id": parent["id"]!])["result"] != nil)
            }
            let rollup = try #require(try await client.call("engagement.rollup", ["id": parent["id"]!, "fresh": true])["result"]?["work"]?["sla"])
            #expect(rollup["credits"]?["EUR"] == .number("6000.00") && rollup["credits"]?["USD"] == .number("2000.00")
                    && rollup["breached_periods"] == 7, "\(JSONWriter.string(rollup))")

            // A second engagement on the EUR contract shares its fee: Q1's fee halves. The USD engagement leaving its
            // contract takes its results along.
            _ = try await world.engagement(client, code: "SLA-3", extra: ["contract_id": contract["id"]!])
            let shared = try #require(try await client.call("sla.explain", ["engagement_id": engagement["id"]!, "term_id": quarterly, "period": "2025-01"])["result"])
            #expect(shared["fee"] == .number("14794.52") && shared["explanation"]?["fee"]?["engagements_sharing"] == 2, "\(JSONWriter.string(shared))")
            let moved = try #require(try await client.call("engagement.get", ["id": second["id"]!])["result"])
            #expect(try await client.call("engagement.update", ["id": second["id"]!, "version": moved["version"]!, "contract_id": .null])["result"] != nil)
            #expect(try await client.call("sla.credits", ["engagement_id": second["id"]!])["result"]?["items"]?.arrayValue?.isEmpty == true)
        }
    }

    @Test("a penalty that is not monotonic, mixes credit kinds or sets a threshold short of the target is refused with its path; psql too")
    func badPenalties() async throws {
        let server = try await ServerFixture.start("sla-bad")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(client)
            let contract = try #require(try await client.call("contract.create", [
                "customer_party_id": world.customer["id"]!, "reference": "BAD", "title": "X", "contract_type": "mou",
                "currency": "EUR", "start_date": "2025-01-01"])["result"])
            let cases: [(JSONValue, String)] = [
                (["tiers": [["threshold": 99, "credit_percent": 10], ["threshold": .number("99.5"), "credit_percent": 30]]], "params.penalty.tiers[1].threshold"),
                (["tiers": [["threshold": .number("99.5"), "credit_percent": 30], ["threshold": 99, "credit_percent": 10]]], "params.penalty.tiers[1].credit_percent"),
                (["tiers": [["threshold": .number("99.5"), "credit_percent": 10], ["threshold": 99, "credit_amount": 10]]], "params.penalty.tiers[1]"),
                (["tiers": [["threshold": .number("99.95"), "credit_percent": 10]]], "params.penalty.tiers[0].threshold"),
                (["tiers": [["threshold": .number("99.5"), "credit_percent": 120]]], "params.penalty.tiers[0].credit_percent"),
                (["tiers": [["threshold": .number("99.5")]]], "params.penalty.tiers[0]"),
                (["tiers": [], "cap_percent": -1], "params.penalty.cap_percent"),
            ]
            for (penalty, expected) in cases {
                let reply = try await client.call("contract.add_sla_term", [
                    "id": contract["id"]!, "metric": "Availability", "target": .number("99.9"), "comparison": ">=",
                    "measurement_period": "monthly", "penalty": penalty])
                #expect(reply.errorCode == -32602 && path(reply) == expected, "\(expected): \(JSONWriter.string(reply))")
            }
            // For "<=" (lower is better) thresholds rise.
            #expect(try await client.call("contract.add_sla_term", [
                "id": contract["id"]!, "metric": "First response", "target": 15, "comparison": "<=", "measurement_period": "monthly",
                "penalty": ["tiers": [["threshold": 20, "credit_amount": 50], ["threshold": 30, "credit_amount": 200]]]])["result"] != nil)
            #expect(try await client.call("contract.get", ["id": contract["id"]!])["result"]?["sla_terms"]?.arrayValue?.count == 1, "nothing else written")
            let owner = try server.ownerConnection()
            defer { owner.close() }
            #expect(throws: PostgresError.self, "psql is refused too") {
                try owner.query("""
                    UPDATE app.contract_sla_terms SET penalty = '{"tiers": [{"threshold": 10, "credit_amount": 1}, {"threshold": 5, "credit_amount": 2}]}'
                    WHERE contract_id = $1::uuid
                    """, [contract["id"]!.stringValue!])
            }
        }
    }
}

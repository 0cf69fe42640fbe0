import EngagementClient
import Foundation
import JSONRPC
import PostgresClient
import Testing

/// Opportunities: the pipeline, its history, and the closed-won rules through the API and in psql.
@Suite("Opportunities")
struct OpportunityTests {
    func path(_ reply: JSONValue) -> String? { reply["error"]?["data"]?["fields"]?[0]?["path"]?.stringValue }

    static func contract(_ client: RPCConnection, _ customer: JSONValue, reference: String, type: String = "mou") async throws -> JSONValue {
        var params: JSONObject = [
            "customer_party_id": customer["id"]!, "reference": .string(reference), "title": "Support", "contract_type": .string(type),
            "currency": "EUR", "start_date": "2025-01-01", "end_date": "2025-12-31"]
        if type != "mou" { params["total_value"] = 120000 }
        let reply = try await client.call("contract.create", .object(params))
        return try #require(reply["result"], "\(JSONWriter.string(reply))")
    }

    @Test("a new opportunity moves through the stages, is won only with a contract, and gets exactly one engagement")
    func winNew() async throws {
        let server = try await ServerFixture.start("opportunities")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(client)
            let stages = try #require(try await client.call("opportunity.stages")["result"]?.arrayValue)
            #expect(stages.map { $0["name"]?.stringValue } == ["qualifying", "prospecting", "partnering", "invoicing", "closed_won", "closed_lost"])

            let created = try #require(try await client.call("opportunity.create", [
                "customer_party_id": world.customer["id"]!, "title": "Managed IT FY2025", "value": 120000, "currency": "EUR",
                "expected_close_date": "2025-01-15"])["result"])
            #expect(created["stage"] == "qualifying" && created["outcome"] == "open" && created["engagement_id"] == .null)
            let moved = try #require(try await client.call("opportunity.move", [
                "id": created["id"]!, "version": 1, "stage": "prospecting", "reason": "budget confirmed"])["result"])
            #expect(moved["stage"] == "prospecting" && moved["version"] == 2)
            let asWon = try await client.call("opportunity.move", ["id": created["id"]!, "version": 2, "stage": "closed_won"])
            #expect(asWon.errorCode == -32602 && path(asWon) == "params.stage", "won only through opportunity.win")

            // No contract: refused, nothing written.
            let engagementSpec: JSONValue = ["code": "ACME-FY25", "template_id": world.template["id"]!]
            let without = try await client.call("opportunity.win", ["id": created["id"]!, "version": 2, "engagement": engagementSpec])
            #expect(without.errorCode == -32007 && without.errorReason == "contract_required", "\(JSONWriter.string(without))")
            #expect(try await client.call("opportunity.get", ["id": created["id"]!])["result"]?["stage"] == "prospecting")
            #expect(try await client.call("engagement.list")["result"]?["items"]?.arrayValue?.isEmpty == true)

            // Another customer's contract: refused with the path.
            let other = try #require(try await client.call("party.create", ["name": "Globex", "kind": "customer"])["result"])
            let globex = try await Self.contract(client, other, reference: "G-1")
            let foreign = try await client.call("opportunity.win", [
                "id": created["id"]!, "version": 2, "contract_id": globex["id"]!, "engagement": engagementSpec])
            #expect(foreign.errorCode == -32602 && path(foreign) == "params.contract_id", "\(JSONWriter.string(foreign))")

            let mou = try await Self.contract(client, world.customer, reference: "MOU-1")
            let won = try await client.call("opportunity.win", [
                "id": created["id"]!, "version": 2, "contract_id": mou["id"]!, "engagement": engagementSpec, "idempotency_key": "win-1"])
            let result = try #require(won["result"], "\(JSONWriter.string(won))")
            #expect(result["opportunity"]?["stage"] == "closed_won" && result["opportunity"]?["outcome"] == "won")
            #expect(result["opportunity"]?["closed_at"] != .null && result["opportunity"]?["contract_ids"] == [mou["id"]!])
            let engagement = try #require(result["engagement"])
            #expect(engagement["opportunity_id"] == created["id"]! && engagement["contract_id"] == mou["id"]!)
            #expect(engagement["name"] == "Managed IT FY2025" && engagement["start_date"] == "2025-01-01" && engagement["end_date"] == "2025-12-31",
                    "name from the opportunity, dates from the contract: \(JSONWriter.string(engagement))")
            #expect(try await client.call("kpi.list", ["engagement_id": engagement["id"]!])["result"]?[0]?["name"] == "Availability",
                    "made from the template")
            #expect(try await client.call("opportunity.get", ["id": created["id"]!])["result"]?["engagement_id"] == engagement["id"]!)
            let replay = try await client.call("opportunity.win", [
                "id": created["id"]!, "version": 2, "contract_id": mou["id"]!, "engagement": engagementSpec, "idempotency_key": "win-1"])
            #expect(replay["result"]?["engagement"]?["id"] == engagement["id"]!, "a retry replays the first reply")

            // A second engagement: refused, by the API and in psql; closed opportunities stay closed.
            let second = try await client.call("engagement.create", [
                "service_id": world.service["id"]!, "customer_party_id": world.customer["id"]!, "code": "ACME-2", "name": "Second",
                "opportunity_id": created["id"]!])
            #expect(second.errorCode == -32004 && path(second) == "params.opportunity_id", "\(JSONWriter.string(second))")
            let closed = try await client.call("opportunity.update", ["id": created["id"]!, "version": 3, "title": "Renamed"])
            #expect(closed.errorCode == -32007 && closed.errorReason == "opportunity_closed", "\(JSONWriter.string(closed))")
            let unlink = try await client.call("opportunity.unlink_contract", ["id": created["id"]!, "contract_id": mou["id"]!])
            #expect(unlink.errorCode == -32007 && unlink.errorReason == "contract_required", "\(JSONWriter.string(unlink))")
            let delete = try await client.call("engagement.delete", ["id": engagement["id"]!, "version": engagement["version"]!])
            #expect(delete.errorCode == -32007 && delete.errorReason == "won_without_engagement", "\(JSONWriter.string(delete))")

            let history = try #require(try await client.call("opportunity.history", ["id": created["id"]!])["result"])
            let changes = try #require(history["changes"]?.arrayValue)
            #expect(changes.map { $0["to"]?.stringValue } == ["qualifying", "prospecting", "closed_won"])
            #expect(changes[0]["from"] == .null && changes[1]["reason"] == "budget confirmed" && changes[2]["days_in_previous"] != .null)

            let owner = try server.ownerConnection()
            defer { owner.close() }
            let opportunityID = created["id"]!.stringValue!
            #expect(throws: PostgresError.self, "psql: a second engagement") {
                try owner.query("""
                    INSERT INTO app.engagements (organisation_id, service_id, customer_party_id, code, name, opportunity_id)
                    SELECT organisation_id, service_id, customer_party_id, 'PSQL-2', 'psql', opportunity_id FROM app.engagements
                    WHERE opportunity_id = $1::uuid
                    """, [opportunityID])
            }
            #expect(throws: PostgresError.self, "psql: a won opportunity leaves closed_won") {
                try owner.query("UPDATE app.opportunities SET stage = 'qualifying' WHERE id = $1::uuid", [opportunityID])
            }
            #expect(throws: PostgresError.self, "psql: a won opportunity's engagement is detached") {
                try owner.query("UPDATE app.engagements SET opportunity_id = NULL WHERE opportunity_id = $1::uuid", [opportunityID])
            }
            let recorded = try owner.query("SELECT count(*) FROM app.opportunity_stage_changes WHERE opportunity_id = $1::uuid", [opportunityID])
            #expect(recorded.int(0, 0) == 3)
        }
    }

    @Test("psql obeys the rules: no engagement for an open opportunity, no won new opportunity without a contract")
    func psqlRules() async throws {
        let server = try await ServerFixture.start("opportunities-psql")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(client)
            let open = try #require(try await client.call("opportunity.create", [
                "customer_party_id": world.customer["id"]!, "title": "Open", "value": 1, "currency": "EUR"])["result"])
            let engagement = try await client.call("engagement.create", [
                "service_id": world.service["id"]!, "customer_party_id": world.customer["id"]!, "code": "E-1", "name": "E",
                "opportunity_id": open["id"]!])
            #expect(engagement.errorCode == -32007 && engagement.errorReason == "opportunity_not_won", "\(JSONWriter.string(engagement))")

            let owner = try server.ownerConnection()
            defer { owner.close() }
            let id = open["id"]!.stringValue!
            do {
                _ = try owner.query("UPDATE app.opportunities SET stage = 'closed_won' WHERE id = $1::uuid", [id])
                Issue.record("a new opportunity was won without a contract")
            } catch PostgresError.server(let error) {
                #expect(error.sqlState.rawValue == "ES017", "\(error)")
            }
            // Won in one transaction with an engagement but no contract: refused at commit.
            let mou = try await Self.contract(client, world.customer, reference: "M-1")
            _ = try owner.query("INSERT INTO app.opportunity_contracts (organisation_id, opportunity_id, contract_id) VALUES ($1::uuid, $2::uuid, $3::uuid)",
                                [server.orgA.id.uuidString, id, mou["id"]!.stringValue!])
            do {
                _ = try owner.query("UPDATE app.opportunities SET stage = 'closed_won' WHERE id = $1::uuid", [id])
                Issue.record("won without an engagement")
            } catch PostgresError.server(let error) {
                #expect(error.sqlState.rawValue == "ES018", "\(error)")
            }
            try owner.executeScript("""
                BEGIN;
                UPDATE app.opportunities SET stage = 'closed_won' WHERE id = '\(id)';
                INSERT INTO app.engagements (organisation_id, service_id, customer_party_id, code, name, opportunity_id)
                VALUES ('\(server.orgA.id.uuidString.lowercased())', '\(world.service["id"]!.stringValue!)',
                        '\(world.customer["id"]!.stringValue!)', 'PSQL-1', 'psql', '\(id)');
                COMMIT;
                """)
            let won = try #require(try await client.call("opportunity.get", ["id": open["id"]!])["result"])
            #expect(won["stage"] == "closed_won" && won["engagement_id"] != .null)
        }
    }

    @Test("a renewal is won without a contract, its engagement from the renewed one's template; of two concurrent wins one goes through")
    func renewalAndRace() async throws {
        let server = try await ServerFixture.start("opportunities-renewal")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let rival = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(client)
            let current = try await world.engagement(client, code: "CUR")
            let missing = try await client.call("opportunity.create", [
                "customer_party_id": world.customer["id"]!, "title": "Renewal", "value": 1, "currency": "EUR", "kind": "renewal"])
            #expect(missing.errorCode == -32602 && path(missing) == "params.kind", "a renewal names what it renews: \(JSONWriter.string(missing))")
            let renewal = try #require(try await client.call("opportunity.create", [
                "customer_party_id": world.customer["id"]!, "title": "Renewal FY2026", "value": 100000, "currency": "EUR",
                "kind": "renewal", "renews_engagement_id": current["id"]!, "stage": "partnering"])["result"])
            #expect(renewal["kind"] == "renewal" && renewal["stage"] == "partnering")

            async let first = client.call("opportunity.win", ["id": renewal["id"]!, "version": 1, "engagement": ["code": "REN-A"]])
            async let second = rival.call("opportunity.win", ["id": renewal["id"]!, "version": 1, "engagement": ["code": "REN-B"]])
            let replies = try await [first, second]
            let winners = replies.filter { $0["result"] != nil }
            #expect(winners.count == 1, "\(replies.map { JSONWriter.string($0) })")
            #expect(replies.contains { $0.errorCode == -32004 && $0.errorReason == "stale_version" })
            let engagement = try #require(winners.first?["result"]?["engagement"])
            #expect(engagement["template_id"] == world.template["id"]! && engagement["contract_id"] == .null)
            let codes = try #require(try await client.call("engagement.list")["result"]?["items"]?.arrayValue).compactMap { $0["code"]?.stringValue }
            #expect(codes.filter { $0.hasPrefix("REN-") }.count == 1)
        }
    }

    @Test("stages are the organisation's: reordered, added, removed unless in use; bad input names its path")
    func stagesAndBadInput() async throws {
        let server = try await ServerFixture.start("opportunities-stages")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(client)
            let set = try #require(try await client.call("opportunity.set_stages", ["stages": ["discovery", "qualifying", "proposal"]])["result"]?.arrayValue)
            #expect(set.map { $0["name"]?.stringValue } == ["discovery", "qualifying", "proposal", "closed_won", "closed_lost"])
            let opportunity = try #require(try await client.call("opportunity.create", [
                "customer_party_id": world.customer["id"]!, "title": "Deal", "value": 5, "currency": "EUR", "stage": "proposal"])["result"])
            let inUse = try await client.call("opportunity.set_stages", ["stages": ["discovery"]])
            #expect(inUse.errorCode == -32004 && inUse.errorReason == "in_use", "\(JSONWriter.string(inUse))")
            for bad: JSONValue in [["closed_won"], ["a", "a"], []] {
                let reply = try await client.call("opportunity.set_stages", ["stages": bad])
                #expect(reply.errorCode == -32602 && path(reply) == "params.stages", "\(JSONWriter.string(reply))")
            }
            let unknown = try await client.call("opportunity.create", [
                "customer_party_id": world.customer["id"]!, "title": "X", "value": 5, "currency": "EUR", "stage": "nowhere"])
            #expect(unknown.errorCode == -32602 && path(unknown) == "params.stage")
            let closedStart = try await client.call("opportunity.create", [
                "customer_party_id": world.customer["id"]!, "title": "X", "value": 5, "currency": "EUR", "stage": "closed_lost"])
            #expect(closedStart.errorCode == -32602 && path(closedStart) == "params.stage")
            let partner = try await client.call("opportunity.create", [
                "customer_party_id": world.partner["id"]!, "title": "X", "value": 5, "currency": "EUR"])
            #expect(partner.errorCode == -32602 && path(partner) == "params.customer_party_id")
            let negative = try await client.call("opportunity.create", [
                "customer_party_id": world.customer["id"]!, "title": "X", "value": -1, "currency": "EUR"])
            #expect(negative.errorCode == -32602 && path(negative) == "params.value")

            let lost = try #require(try await client.call("opportunity.move", [
                "id": opportunity["id"]!, "version": 1, "stage": "closed_lost", "reason": "went elsewhere"])["result"])
            #expect(lost["outcome"] == "lost" && lost["lost_reason"] == "went elsewhere" && lost["closed_at"] != .null)
            let reopen = try await client.call("opportunity.move", ["id": opportunity["id"]!, "version": 2, "stage": "discovery"])
            #expect(reopen.errorCode == -32007 && reopen.errorReason == "opportunity_closed")
            let open = try #require(try await client.call("opportunity.list", ["open": true])["result"]?["items"]?.arrayValue)
            let closed = try #require(try await client.call("opportunity.list", ["open": false, "sort": "value"])["result"]?["items"]?.arrayValue)
            #expect(open.isEmpty && closed.count == 1)
            #expect(try await client.call("opportunity.delete", ["id": opportunity["id"]!, "version": 2])["result"]?["deleted"] == true)
        }
    }
}

import DevEnvironment
import Foundation
import PostgresClient
import Testing

@Suite("Seed data generator")
struct SeedTests {
    /// A fingerprint of everything the seed chose (values and ids it derives), leaving out the ids of rows
    /// that triggers create (copied KPIs, rule-raised risks), which are random by design.
    static let fingerprint = """
        SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
            SELECT e.id::text || e.code || coalesce(e.parent_id::text, '') || e.status FROM app.engagements e
            UNION ALL SELECT f.check_in_id::text || f.line_no || f.actual FROM app.finance_lines f
            UNION ALL SELECT v.check_in_id::text || v.actual FROM app.kpi_values v
            UNION ALL SELECT k.reference || k.total_value || k.currency FROM app.contracts k
            UNION ALL SELECT r.id::text || r.probability || r.impact || r.value_at_risk FROM app.risk_signals r WHERE r.source = 'manual'
            UNION ALL SELECT s.engagement_id::text || s.period || coalesce(s.score::text, '-') FROM app.health_scores s) t(x)
        """

    @Test("the seed writes through every trigger: trees of the asked depth, check-ins with scores; the same seed gives the same data")
    func seed() async throws {
        var fingerprints: [String] = []
        for label in ["seed-a", "seed-b"] {
            let deployment = try await TestCluster.shared.deployment(label)
            let owner = try PostgresConnection.connect(try deployment.ownerURL)
            defer { owner.close() }
            let (organisation, rows) = try SeedData.seedOrganisation(owner: owner, seed: 42, index: 1, engagements: 40, depth: 3, months: 3)
            #expect(rows > 40 * 3)
            func count(_ sql: String) throws -> Int { try owner.query(sql, [organisation]).int(0, 0) ?? -1 }
            #expect(try count("SELECT count(*) FROM app.engagements WHERE organisation_id = $1") == 40)
            let active = try count("SELECT count(*) FROM app.engagement_transitions WHERE organisation_id = $1 AND from_status = 'draft'")
            #expect(active == 38, "two of forty stay drafts")
            #expect(try count("SELECT count(*) FROM app.check_ins WHERE organisation_id = $1") == active * 3)
            #expect(try count("SELECT count(*) FROM app.health_scores WHERE organisation_id = $1") == active * 3, "scored at commit")
            #expect(try count("SELECT count(*) FROM app.check_in_revisions WHERE organisation_id = $1") == active * 3)
            #expect(try count("SELECT max(depth) + 1 FROM app.engagement_closure($1)") == 3, "account trees of depth 3")
            #expect(try count("SELECT count(*) FROM app.engagement_kpis WHERE organisation_id = $1") == 40 * 3, "template KPIs copied")
            do {
                _ = try SeedData.seedOrganisation(owner: owner, seed: 42, index: 1, engagements: 40, depth: 3, months: 3)
                Issue.record("the same organisation of the same seed must be refused")
            } catch {
                #expect(error is SeedData.SeedError)
            }
            fingerprints.append(try owner.query(Self.fingerprint).string(0, 0) ?? "")
        }
        #expect(fingerprints[0] == fingerprints[1] && !fingerprints[0].isEmpty, "two databases, one seed, the same data")
    }
}

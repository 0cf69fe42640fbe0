import DatabaseSetup
import Foundation
import PostgresClient
import Testing

/// The schema stays distributable on Citus (docs/scaling.md) without a Citus cluster in CI: the plan places
/// every table, the lint finds nothing in the migrated schema, and each of its rules catches what Citus refuses.
@Suite("Distribution lint")
struct DistributionLintTests {
    @Test("every table is placed (by organisation, reference or local) and the migrated schema has no problem")
    func migratedSchemaDistributes() async throws {
        let deployment = try await TestCluster.shared.deployment("distribution")
        let connection = try PostgresConnection.connect(try deployment.ownerURL)
        defer { connection.close() }
        #expect(try Distribution.problems(connection) == [])
        let placements = try connection.query(
            "SELECT placement, count(*)::int, count(*) FILTER (WHERE distribution_column IS NULL)::int FROM meta.distribution_plan GROUP BY 1 ORDER BY 1")
        let counted = Dictionary(uniqueKeysWithValues: (0..<placements.rowCount).map { (placements.string($0, 0)!, placements.int($0, 1)!) })
        #expect(counted["reference"] == 2 && counted["local"] == 2, "\(counted)")
        #expect((counted["distributed"] ?? 0) >= 67, "\(counted)")
        #expect(counted.values.reduce(0, +) == (try connection.query(
            "SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('app', 'rollup') AND c.relkind = 'r'").int(0, 0)))
        for row in 0..<placements.rowCount where placements.string(row, 0) == "distributed" {
            #expect(placements.int(row, 2) == 0, "a distributed table without a distribution column")
        }
        // No policy of the schema evaluates a sub-select (the rule Citus enforces, checked on every table here).
        #expect(try connection.query(
            "SELECT count(*)::int FROM pg_policy WHERE polqual::text LIKE '%{SUBLINK %' OR polwithcheck::text LIKE '%{SUBLINK %'").int(0, 0) == 0)
    }

    @Test("each rule finds what Citus refuses: a global unique key, an unpaired or SET NULL foreign key, a nullable organisation, a sub-select in a policy, a materialized view")
    func rulesCatchProblems() async throws {
        let deployment = try await TestCluster.shared.deployment("distribution")
        let connection = try PostgresConnection.connect(try deployment.ownerURL)
        defer { connection.close() }
        try connection.executeScript(
            """
            BEGIN;
            CREATE TABLE app.lint_probe (
                organisation_id uuid NOT NULL REFERENCES app.organisations (id), id uuid NOT NULL, code text UNIQUE, rule_id uuid,
                PRIMARY KEY (organisation_id, id),
                FOREIGN KEY (organisation_id, rule_id) REFERENCES app.risk_rules (organisation_id, id) ON DELETE SET NULL (rule_id));
            CREATE TABLE app.lint_orphan (organisation_id uuid, owner uuid REFERENCES app.organisations (id));
            ALTER TABLE app.lint_probe ENABLE ROW LEVEL SECURITY;
            CREATE POLICY probe ON app.lint_probe USING (organisation_id = (SELECT app.current_organisation_id()));
            CREATE MATERIALIZED VIEW rollup.lint_view AS SELECT 1 AS one;
            """)
        defer { try? connection.executeScript("ROLLBACK") }
        let found = try Distribution.problems(connection).map(\.description)
        #expect(found == [
            "app.lint_orphan: distribution column organisation_id is missing or nullable",
            "app.lint_orphan: foreign key lint_orphan_owner_fkey does not pair organisation_id with id of app.organisations",
            "app.lint_probe: foreign key lint_probe_organisation_id_rule_id_fkey: ON DELETE SET NULL/SET DEFAULT or ON UPDATE actions",
            "app.lint_probe: policy probe has a sub-select",
            "app.lint_probe: unique index app.lint_probe_code_key lacks organisation_id",
            "rollup.lint_view: materialized view",
        ], "\(found)")
    }

    @Test("the distribution step refuses where Citus is not installed, and changes nothing")
    func distributeNeedsCitus() async throws {
        let deployment = try await TestCluster.shared.deployment("distribution")
        let connection = try PostgresConnection.connect(try deployment.ownerURL)
        defer { connection.close() }
        let constraints = try connection.query("SELECT count(*)::int FROM pg_constraint WHERE contype = 'f'").int(0, 0)
        #expect {
            _ = try Distribution.distribute(connection, schema: TestCluster.schema, shardCount: 4)
        } throws: { error in
            "\(error)".contains("the citus extension is not installed in database")
        }
        #expect(try connection.query("SELECT count(*)::int FROM pg_constraint WHERE contype = 'f'").int(0, 0) == constraints)
    }

    /// The stable expressions Citus refuses inside a distributed UPDATE's CASE or coalesce (SQL/README.md).
    static var stableInConditional: Regex<(Substring, Substring?)> {
        #/now\(\)|current_date|current_timestamp|::(date|timestamptz|timestamp|interval)\b/#
    }

    /// The SET part of every UPDATE statement of a definitions file, with the line it starts on.
    static func updateAssignments(_ text: String) -> [(line: Int, set: Substring)] {
        text.matches(of: #/UPDATE\s+app\.\w+[^;]*?;/#.dotMatchesNewlines()).map { match in
            let statement = text[match.range]
            let set = statement.firstRange(of: #/\sWHERE\s/#).map { statement[..<$0.lowerBound] } ?? statement
            return (text[..<match.range.lowerBound].count { $0 == "\n" } + 1, set)
        }
    }

    @Test("no UPDATE of a definitions file calls a stable function inside CASE or coalesce in its SET (Citus refuses it: take it into a variable first)")
    func noStableExpressionsInConditionalUpdates() throws {
        let directory = URL(fileURLWithPath: "SQL/definitions")
        var found: [String] = []
        var checked = 0
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() where file.hasSuffix(".sql") {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            for (line, set) in Self.updateAssignments(text) {
                checked += 1
                guard set.contains("CASE") || set.lowercased().contains("coalesce(") else { continue }
                if set.contains(Self.stableInConditional) { found.append("\(file):\(line)") }
            }
        }
        #expect(checked > 30, "the UPDATE statements were found: \(checked)")
        #expect(found.isEmpty, "stable functions in a conditional UPDATE: \(found)")
        // The rule catches what it is for.
        let spoilt = "UPDATE app.t row SET d = CASE WHEN p ? 'd' THEN (p ->> 'd')::date ELSE row.d END WHERE row.id = x;"
        #expect(Self.updateAssignments(spoilt).first.map { $0.set.contains(Self.stableInConditional) } == true)
        #expect(Self.updateAssignments("UPDATE app.t SET a = coalesce(v_now, a) WHERE id = x;").first?.set.contains(Self.stableInConditional) == false)
    }
}

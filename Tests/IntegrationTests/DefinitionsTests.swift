import DatabaseSetup
import Foundation
import PostgresClient
import Testing

/// `SQL/definitions`: the one place where the current definition of every function, procedure, view and policy
/// is read, re-applied with the migrations.
@Suite("Current definitions")
struct DefinitionsTests {
    @Test("definitions are applied with the last migration and recorded; unchanged, nothing runs; changed, all re-apply")
    func appliedAndRecorded() async throws {
        let url = try await TestCluster.shared.emptyDatabase("definitions")
        let connection = try PostgresConnection.connect(url)
        defer { connection.close() }
        let schema = TestCluster.schema
        let migrator = Migrator(schema)
        try migrator.migrate(connection)
        let recorded = try migrator.appliedDefinitions(connection)
        #expect(recorded == Dictionary(uniqueKeysWithValues: schema.definitions.map { ($0.name, $0.checksum) }))
        // A procedure that exists only in the definitions (no migration made it).
        #expect(try connection.query("SELECT to_regprocedure('app.reset_tenant_policies(regclass)') IS NOT NULL").bool(0, 0) == true)

        // Nothing changed: a marker written by a definition would not reappear.
        var marked = schema
        marked.definitions.append(Definition(name: "9999_marker.sql", sql: "CREATE TABLE meta.marker (n int);"))
        try Migrator(marked).migrate(connection)
        #expect(try connection.query("SELECT to_regclass('meta.marker') IS NOT NULL").bool(0, 0) == true)
        try connection.executeScript("DROP TABLE meta.marker")
        try Migrator(marked).migrate(connection)
        #expect(try connection.query("SELECT to_regclass('meta.marker') IS NULL").bool(0, 0) == true)

        // One file changed: every file runs again (the marker comes back), in one transaction.
        marked.definitions[0] = Definition(name: marked.definitions[0].name, sql: marked.definitions[0].sql + "\n-- edited\n")
        try Migrator(marked).migrate(connection)
        #expect(try connection.query("SELECT to_regclass('meta.marker') IS NOT NULL").bool(0, 0) == true)
    }

    @Test("a failing definitions file rolls back the migration applied with it, and names the file")
    func failureRollsBack() async throws {
        let url = try await TestCluster.shared.emptyDatabase("definitions")
        let connection = try PostgresConnection.connect(url)
        defer { connection.close() }
        try Migrator(TestCluster.schema).migrate(connection)
        var broken = TestCluster.schema
        broken.migrations.append(Migration(version: 9000, name: "later", sql: "CREATE TABLE app.later (id int);"))
        broken.definitions.append(Definition(name: "9999_broken.sql", sql: "SELECT 1/0;"))
        #expect {
            try Migrator(broken).migrate(connection)
        } throws: { error in
            guard case MigrationError.definitionFailed(let name, _) = error else { return false }
            return name == "9999_broken.sql"
        }
        #expect(try connection.query("SELECT to_regclass('app.later') IS NULL").bool(0, 0) == true)
        #expect(try Migrator(broken).appliedMigrations(connection).map(\.version) == TestCluster.migrations.map(\.version))
    }

    @Test("every function, procedure, view and policy of the migrated schema is defined in exactly one definitions file")
    func onePlace() async throws {
        let deployment = try await TestCluster.shared.deployment("definitions")
        let connection = try PostgresConnection.connect(try deployment.ownerURL)
        defer { connection.close() }
        let files = TestCluster.schema.definitions
        func definedIn(_ pattern: String) -> [String] {
            files.filter { $0.sql.range(of: pattern, options: [.regularExpression, .caseInsensitive]) != nil }.map(\.name)
        }
        let routines = try connection.query(
            """
            SELECT n.nspname || '.' || p.proname, p.prokind FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname IN ('app', 'api', 'tenant', 'reporting', 'rollup')
              AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
            UNION ALL
            SELECT n.nspname || '.' || c.relname, 'v' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'v' AND n.nspname IN ('app', 'api', 'tenant', 'reporting', 'rollup')
            """)
        #expect(routines.rowCount > 100)
        for row in 0..<routines.rowCount {
            let name = routines.string(row, 0)!
            let kind = ["f": "FUNCTION", "p": "PROCEDURE", "v": "VIEW"][routines.string(row, 1)!]!
            let escaped = NSRegularExpression.escapedPattern(for: name)
            let defining = definedIn("CREATE OR REPLACE \(kind) \(escaped)[ (\\n]")
            #expect(defining.count == 1, "\(kind) \(name) is defined in \(defining)")
        }
        // Policies: each table's block in the policies file states all of them.
        let policies = try connection.query(
            "SELECT schemaname || '.' || tablename, policyname FROM pg_policies ORDER BY 1, 2")
        let policyFile = try #require(files.first { $0.name.hasSuffix("_policies.sql") })
        for row in 0..<policies.rowCount {
            let table = NSRegularExpression.escapedPattern(for: policies.string(row, 0)!)
            let policy = policies.string(row, 1)!
            let declared: Bool
            if let writer = policy.split(separator: "_").first, policy.hasSuffix("_write") {
                declared = policyFile.sql.range(
                    of: "apply_tenant_policies\\('\(table)', '\(writer)'\\)|CREATE POLICY \(policy) ON \(table) ",
                    options: .regularExpression) != nil
            } else if policy == "tenant_read" {
                declared = policyFile.sql.range(
                    of: "apply_tenant_(policies|read_policy)\\('\(table)'|CREATE POLICY tenant_read ON \(table) ",
                    options: .regularExpression) != nil
            } else {
                declared = policyFile.sql.range(of: "CREATE POLICY \(policy) ON \(table) ", options: .regularExpression) != nil
            }
            #expect(declared, "policy \(policy) on \(policies.string(row, 0)!) is not in \(policyFile.name)")
        }
        // No migration still carries a tenant table without policies.
        let unprotected = try connection.query(
            """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'app' AND c.relkind = 'r' AND EXISTS (
                SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'organisation_id')
              AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
            """)
        #expect(unprotected.rowCount == 0)
    }
}

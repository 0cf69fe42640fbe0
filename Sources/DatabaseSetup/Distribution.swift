import PostgresClient

/// The schema on a Citus cluster (docs/scaling.md): the lint that says whether every table distributes as
/// planned, and the distribution step. Both are SQL (`meta.distribution_problems()`, `meta.distribute`, in
/// SQL/definitions/0048_distribution.sql); this runs them and reports.
public enum Distribution {
    /// One reason a table would not distribute as planned.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public let table: String
        public let problem: String
        public var description: String { "\(table): \(problem)" }
    }

    /// How many tables of each placement Citus holds after the step.
    public struct Placement: Sendable, Equatable {
        public var distributed = 0
        public var reference = 0
        public var local = 0
    }

    /// What stops the plan; empty when every table distributes as planned. Runs on plain PostgreSQL too.
    public static func problems(_ connection: PostgresConnection) throws(PostgresError) -> [Problem] {
        let result = try connection.query("SELECT table_name::text, problem FROM meta.distribution_problems() ORDER BY 1, 2")
        return (0..<result.rowCount).map { Problem(table: result.string($0, 0) ?? "", problem: result.string($0, 1) ?? "") }
    }

    /// Makes every planned table a Citus table (`CALL meta.distribute`), as a superuser on the coordinator of a
    /// cluster whose workers were added, then applies `schema`'s definitions again as the owner so that every
    /// function, view, policy and trigger exists on the workers too. Refuses (an error naming the problems) while
    /// the lint finds any. Re-runnable: after a migration that adds a table, run it again.
    public static func distribute(_ connection: PostgresConnection, schema: SchemaSource, shardCount: Int) throws -> Placement {
        _ = try connection.query("CALL meta.distribute($1)", [shardCount])
        // The settings meta.distribute gave the owner's logins, for this session acting as the owner.
        try connection.executeScript(
            """
            SET citus.enable_unsafe_triggers = on; SET citus.multi_shard_modify_mode = sequential;
            SET ROLE \(DatabaseBootstrap.ownerRole)
            """)
        try Migrator(schema).reapplyDefinitions(connection)
        try connection.executeScript("RESET ROLE")
        let result = try connection.query(
            """
            SELECT coalesce(d.partmethod::text, 'l'), count(*)::int
            FROM meta.distribution_plan p LEFT JOIN pg_dist_partition d ON d.logicalrelid = p.table_name
            GROUP BY 1
            """)
        var placement = Placement()
        for row in 0..<result.rowCount {
            let count = result.int(row, 1) ?? 0
            switch result.string(row, 0) {
            case "h": placement.distributed += count
            case "n": placement.reference += count
            default: placement.local += count
            }
        }
        return placement
    }
}

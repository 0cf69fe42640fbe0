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
        public let distributed: Int
        public let reference: Int
        public let local: Int
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
        // meta.distribute gave this session the owner's Citus settings; the definitions are the owner's.
        _ = try connection.query("CALL meta.distribute($1)", [shardCount])
        try connection.executeScript("SET ROLE \(DatabaseBootstrap.ownerRole)")
        try Migrator(schema).reapplyDefinitions(connection)
        try connection.executeScript("RESET ROLE")
        let counts = try connection.query("SELECT distributed, reference, local FROM meta.citus_placements()")
        return Placement(distributed: counts.int(0, 0) ?? 0, reference: counts.int(0, 1) ?? 0, local: counts.int(0, 2) ?? 0)
    }
}

import JSONRPC
import PostgresClient

/// Parent/child engagements. Cycles, depth and archived engagements are checked by the database's trigger
/// (safe under concurrent moves); trees are read with recursive queries over the (organisation, parent) index.
enum EngagementHierarchyMethods {
    static let all: [MethodDefinition] = [setParent, tree, ancestors, rollup]
    static let references = [
        "engagements_parent_fk": "params.parent_id",
        "engagements_parent_cycle": "params.parent_id",
        "engagements_parent_depth": "params.parent_id",
    ]
    static let node = "jsonb_build_object('id', e.id, 'code', e.code, 'name', e.name, 'status', e.status, 'parent_id', e.parent_id"

    static let setParent = MethodDefinition(
        "engagement.set_parent",
        summary: "Place an engagement (with its subtree) under a parent, or make it a root with parent_id null.",
        params: [
            .init("id", .uuid, "the engagement to move"),
            .init("version", .integer(minimum: 1), "the version you last read"),
            .init("parent_id", .nullable(.uuid), "the new parent, or null"),
        ],
        result: EngagementMethods.engagement, access: .role(.member)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let result = try await context.run(
            [Statement(
                DomainSQL.versionedUpdate(table: "engagements", assignments: ["parent_id = $3::uuid"], render: "engagement_json"),
                [params.string("id"), version, params.string("parent_id")])],
            references: references)[0]
        return try DomainSupport.versionedWrite(result, requestedVersion: version)
    }

    static let tree = MethodDefinition(
        "engagement.tree",
        summary: "An engagement and all its descendants, depth first, each with its depth (0 for the engagement) and path of ids.",
        params: [
            .init("id", .uuid, "the top of the tree"),
            .init("status", .enumeration(EngagementMethods.statuses), required: false, "only nodes of this status"),
        ],
        result: .any(description: "[{id, code, name, status, parent_id, depth, path}]"), access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(
            """
            WITH RECURSIVE tree AS (
                SELECT e.id, 0 AS depth, ARRAY[e.id] AS path FROM app.engagements e
                WHERE e.organisation_id = app.current_organisation_id() AND e.id = $1::uuid
                UNION ALL
                SELECT c.id, tree.depth + 1, tree.path || c.id FROM app.engagements c
                JOIN tree ON c.organisation_id = app.current_organisation_id() AND c.parent_id = tree.id
                WHERE tree.depth < 1000)
            SELECT CASE WHEN EXISTS (SELECT FROM tree) THEN coalesce((
                SELECT jsonb_agg(\(node), 'depth', tree.depth, 'path', to_jsonb(tree.path)) ORDER BY tree.path)
                FROM tree JOIN app.engagements e ON e.organisation_id = app.current_organisation_id() AND e.id = tree.id
                WHERE $2::text IS NULL OR e.status = $2), '[]'::jsonb) END
            """, [params.string("id"), params.string("status")]))
    }

    static let ancestors = MethodDefinition(
        "engagement.ancestors", summary: "An engagement's parent, grandparent … up to its root, nearest first.",
        params: [.init("id", .uuid, "the engagement")],
        result: .any(description: "[{id, code, name, status, parent_id, distance}]"), access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(
            """
            WITH RECURSIVE up AS (
                SELECT e.id, e.parent_id, 0 AS distance FROM app.engagements e
                WHERE e.organisation_id = app.current_organisation_id() AND e.id = $1::uuid
                UNION ALL
                SELECT p.id, p.parent_id, up.distance + 1 FROM app.engagements p
                JOIN up ON p.organisation_id = app.current_organisation_id() AND p.id = up.parent_id
                WHERE up.distance < 1000)
            SELECT CASE WHEN EXISTS (SELECT FROM up) THEN coalesce((
                SELECT jsonb_agg(\(node), 'distance', up.distance) ORDER BY up.distance)
                FROM up JOIN app.engagements e ON e.organisation_id = app.current_organisation_id() AND e.id = up.id
                WHERE up.distance > 0), '[]'::jsonb) END
            """, [params.string("id")]))
    }

    static let rollup = MethodDefinition(
        "engagement.rollup",
        summary: "Rollups over the engagement's whole subtree (itself included): counts by status, contract value per currency, health, open risks, finance and capacity per month.",
        params: [
            .init("id", .uuid, "the engagement"),
            .init("fresh", .boolean, required: false, "true: compute live now instead of reading the materialized rollups"),
        ],
        result: .any(description: """
            {engagement_id, as_of, source: materialized | live, engagements, by_status: {draft, active, on_hold, completed, \
            archived}, contract_value: {currency: amount}, health: {by_band: {red, amber, green, unknown}, mean, \
            weighted_by_contract_value: {currency: mean}}, risks: {open, by_probability, by_severity, value_at_risk: \
            {currency: amount}}, monthly: [{period, check_ins, planned_hours, actual_hours, health_mean, health_by_band}], \
            finance: [{period, currency, revenue_plan, revenue_actual, cost_plan, cost_actual, cost_variance}]}
            """),
        access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(
            "SELECT app.engagement_rollup($1::uuid, $2::boolean)", [params.string("id"), params.bool("fresh") ?? false]))
    }
}

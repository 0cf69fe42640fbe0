import JSONRPC
import PostgresClient

/// Status changes and delivery parties of engagements. The legal moves (Draft → Active → On Hold ⇄ Active →
/// Completed → Archived, with a template needed to activate a draft) are enforced by the database's trigger,
/// which also records every change; these methods only ask for them.
enum EngagementLifecycleMethods {
    static let all: [MethodDefinition] = [transition, transitions, addDeliverer, removeDeliverer]

    static let transition = MethodDefinition(
        "engagement.transition",
        summary: "Move an engagement to another status (draft→active needs a template; illegal moves get -32007).",
        params: [
            .init("id", .uuid, "the engagement"),
            .init("version", .integer(minimum: 1), "the version you last read"),
            .init("to", .enumeration(EngagementMethods.statuses), "the new status"),
            .init("reason", .string(maxLength: 1000), required: false, "why, kept in the history"),
        ],
        result: EngagementMethods.engagement, access: .role(.member)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let results = try await context.run([
            // Read by the trigger that records the transition; gone at the end of the call.
            Statement("SELECT set_config('app.transition_reason', $1, true)", [params.string("reason") ?? ""]),
            Statement(
                DomainSQL.versionedUpdate(table: "engagements", assignments: ["status = $3"], render: "engagement_json"),
                [params.string("id"), version, params.string("to")]),
        ])
        return try DomainSupport.versionedWrite(results[1], requestedVersion: version)
    }

    static let transitions = MethodDefinition(
        "engagement.transitions", summary: "An engagement's status history, oldest first.",
        params: [.init("id", .uuid, "the engagement")],
        result: .any(description: "[{from, to, changed_by, changed_at, reason}]"), access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(
            """
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'from', t.from_status, 'to', t.to_status, 'changed_by', t.changed_by,
                       'changed_at', t.changed_at, 'reason', t.reason) ORDER BY t.id), '[]'::jsonb)
            FROM app.engagements e
            LEFT JOIN app.engagement_transitions t ON t.organisation_id = e.organisation_id AND t.engagement_id = e.id
            WHERE e.organisation_id = app.current_organisation_id() AND e.id = $1::uuid
            GROUP BY e.id
            """, [params.string("id")]))
    }

    static let addDeliverer = MethodDefinition(
        "engagement.add_deliverer",
        summary: "Add a delivery party (a delivery partner or the organisation itself) with a role, or change its role.",
        params: [
            .init("id", .uuid, "the engagement"),
            .init("party_id", .uuid, "a party of kind delivery_partner or self"),
            .init("role", .enumeration(["lead", "subcontractor", "partner"]), required: false, "default lead"),
        ],
        result: EngagementMethods.engagement, access: .role(.member)
    ) { context, params throws(RPCError) in
        let results = try await context.run([
            Statement(
                """
                WITH engagement AS (
                    SELECT id FROM app.engagements WHERE organisation_id = app.current_organisation_id() AND id = $1::uuid),
                party AS (
                    SELECT kind FROM app.parties WHERE organisation_id = app.current_organisation_id() AND id = $2::uuid),
                added AS (
                    INSERT INTO app.engagement_deliverers (organisation_id, engagement_id, party_id, role)
                    SELECT app.current_organisation_id(), $1::uuid, $2::uuid, coalesce($3, 'lead')
                    WHERE EXISTS (SELECT FROM engagement) AND (SELECT kind FROM party) IN ('delivery_partner', 'self')
                    ON CONFLICT (organisation_id, engagement_id, party_id) DO UPDATE SET role = EXCLUDED.role
                    RETURNING 1)
                SELECT EXISTS (SELECT FROM engagement), (SELECT kind FROM party)
                """, [params.string("id"), params.string("party_id"), params.string("role")]),
            Statement(DomainSQL.get(table: "engagements", render: "engagement_json"), [params.string("id")]),
        ])
        guard results[0].bool(0, 0) == true else { throw RPCError(.notFound, reason: "not_found") }
        switch results[0].string(0, 1) {
        case nil:
            throw RPCError.invalidParams([FieldProblem(path: "params.party_id", message: "does not exist")])
        case "customer":
            throw RPCError.invalidParams([
                FieldProblem(path: "params.party_id", message: "must be a delivery partner or the organisation itself")
            ])
        default:
            return try rendered(results[1])
        }
    }

    static let removeDeliverer = MethodDefinition(
        "engagement.remove_deliverer",
        summary: "Remove a delivery party; the last one cannot be removed (-32007).",
        params: [.init("id", .uuid, "the engagement"), .init("party_id", .uuid, "the party to remove")],
        result: EngagementMethods.engagement, access: .role(.member)
    ) { context, params throws(RPCError) in
        let results = try await context.run([
            Statement(
                """
                WITH engagement AS (
                    SELECT id FROM app.engagements WHERE organisation_id = app.current_organisation_id() AND id = $1::uuid),
                deliverers AS (
                    SELECT party_id FROM app.engagement_deliverers
                    WHERE organisation_id = app.current_organisation_id() AND engagement_id = $1::uuid),
                removed AS (
                    DELETE FROM app.engagement_deliverers d
                    WHERE d.organisation_id = app.current_organisation_id() AND d.engagement_id = $1::uuid
                      AND d.party_id = $2::uuid AND (SELECT count(*) FROM deliverers) > 1
                    RETURNING 1)
                SELECT EXISTS (SELECT FROM engagement), EXISTS (SELECT FROM deliverers WHERE party_id = $2::uuid),
                       EXISTS (SELECT FROM removed)
                """, [params.string("id"), params.string("party_id")]),
            Statement(DomainSQL.get(table: "engagements", render: "engagement_json"), [params.string("id")]),
        ])
        guard results[0].bool(0, 0) == true else { throw RPCError(.notFound, reason: "not_found") }
        guard results[0].bool(0, 1) == true else {
            throw RPCError.invalidParams([FieldProblem(path: "params.party_id", message: "does not deliver this engagement")])
        }
        guard results[0].bool(0, 2) == true else {
            throw RPCError(.invalidState, "Invalid state: an engagement keeps at least one deliverer", reason: "last_deliverer")
        }
        return try rendered(results[1])
    }

    /// The engagement rendered by the last statement; a missing row is "not found", never an empty reply.
    private static func rendered(_ result: PostgresResult) throws(RPCError) -> ResponseBody {
        guard let body = result.bytes(0, 0) else { throw RPCError(.notFound, reason: "not_found") }
        return .result(rawJSON: body)
    }
}

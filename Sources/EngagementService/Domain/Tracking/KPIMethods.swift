import JSONRPC
import PostgresClient

/// The KPIs of an engagement: copied from its template when it gets one, or defined here. Values arrive with
/// check-ins, by KPI name.
enum KPIMethods {
    static let all: [MethodDefinition] = [define, list, remove]

    static let kpi = Schema.any(
        description: "a KPI: {id, engagement_id, name, unit, target, direction, deliverer_party_id, source: template | added, version, created_at, updated_at}")
    static let directions = ["higher_is_better", "lower_is_better"]
    static let references = [
        "kpis_engagement_fk": "params.engagement_id",
        "kpis_deliverer_fk": "params.deliverer_party_id",
    ]

    static let define = MethodDefinition(
        "kpi.define",
        summary: "Add a KPI to an engagement, or change the one of that name (unit, target, direction, owner).",
        params: [
            .init("engagement_id", .uuid, "the engagement"),
            .init("name", .string(minLength: 1, maxLength: 100), "unique per engagement (case-insensitive)"),
            .init("unit", .string(maxLength: 40), required: false, "e.g. %, hours, NPS"),
            .init("target", .number, "the value aimed at"),
            .init("direction", .enumeration(directions), required: false, "default higher_is_better"),
            .init("deliverer_party_id", .nullable(.uuid), required: false, "the delivery party that owns it; null: attribution decides"),
        ],
        result: kpi, access: .role(.member)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(
            """
            INSERT INTO app.engagement_kpis AS k
                (organisation_id, engagement_id, name, unit, target, direction, deliverer_party_id, created_by, updated_by)
            VALUES (app.current_organisation_id(), $1::uuid, btrim($2), coalesce($3, ''), $4::numeric,
                    coalesce($5, 'higher_is_better'), $6::uuid, app.current_user_id(), app.current_user_id())
            ON CONFLICT (organisation_id, engagement_id, lower(name)) DO UPDATE SET
                name = EXCLUDED.name, unit = coalesce($3, k.unit), target = EXCLUDED.target,
                direction = coalesce($5, k.direction), deliverer_party_id = EXCLUDED.deliverer_party_id
            RETURNING app.engagement_kpi_json(k)
            """,
            [params.string("engagement_id"), params.string("name"), params.string("unit"), DomainSupport.number(params, "target"),
             params.string("direction"), params.string("deliverer_party_id")]),
            references: references)
    }

    static let list = MethodDefinition(
        "kpi.list", summary: "An engagement's KPIs, by name.",
        params: [.init("engagement_id", .uuid, "the engagement")],
        result: .any(description: "[KPI]"), access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(
            """
            SELECT coalesce(jsonb_agg(app.engagement_kpi_json(k) ORDER BY lower(k.name)) FILTER (WHERE k.id IS NOT NULL), '[]')
            FROM app.engagements e
            LEFT JOIN app.engagement_kpis k ON k.organisation_id = e.organisation_id AND k.engagement_id = e.id
            WHERE e.organisation_id = app.current_organisation_id() AND e.id = $1::uuid
            GROUP BY e.id
            """, [params.string("engagement_id")]))
    }

    static let remove = MethodDefinition(
        "kpi.remove", summary: "Remove a KPI that has no recorded values (-32004 in_use otherwise).",
        params: [.init("id", .uuid, "the KPI")],
        result: .any(description: "{id, deleted: true}"), access: .role(.member)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(
            """
            DELETE FROM app.engagement_kpis WHERE organisation_id = app.current_organisation_id() AND id = $1::uuid
            RETURNING jsonb_build_object('id', id, 'deleted', true)
            """, [params.string("id")]))
    }
}

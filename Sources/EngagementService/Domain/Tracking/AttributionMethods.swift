import JSONRPC
import PostgresClient

/// Attribution periods: a delivery party credited with an engagement's items over a range of months. An item's
/// own party wins over the period's; without either, the engagement's default deliverer (its lead, the
/// organisation itself first) is credited.
enum AttributionMethods {
    static let all: [MethodDefinition] = [set, remove, list]

    static let periods = Schema.any(
        description: "[{id, party_id, party, from_period, to_period}] of the engagement, by from_period")
    static let references = [
        "attribution_deliverer_fk": "params.party_id",
        "attribution_order": "params.to_period",
        "attribution_overlap": "params.from_period",
    ]

    static let set = MethodDefinition(
        "attribution.set",
        summary: "Credit a delivery party of the engagement with its items from one month to another (open-ended without to_period).",
        params: [
            .init("engagement_id", .uuid, "the engagement"),
            .init("party_id", .uuid, "one of its delivery parties"),
            .init("from_period", CheckInMethods.period, "first month, YYYY-MM"),
            .init("to_period", CheckInMethods.period, required: false, "last month; ranges of one engagement never overlap"),
        ],
        result: periods, access: .role(.member)
    ) { context, params throws(RPCError) in
        try await context.jsonOfLast([
            Statement(
                """
                INSERT INTO app.attribution_periods (organisation_id, engagement_id, party_id, from_period, to_period, created_by)
                SELECT app.current_organisation_id(), $1::uuid, $2::uuid, to_date($3, 'YYYY-MM'), to_date($4, 'YYYY-MM'),
                       app.current_user_id()
                WHERE EXISTS (SELECT FROM app.engagements WHERE organisation_id = app.current_organisation_id() AND id = $1::uuid)
                """,
                [params.string("engagement_id"), params.string("party_id"), params.string("from_period"), params.string("to_period")]),
            listing(params.string("engagement_id")),
        ], references: references)
    }

    static let remove = MethodDefinition(
        "attribution.remove", summary: "Remove an attribution period; replies with the engagement's remaining ones.",
        params: [.init("engagement_id", .uuid, "the engagement"), .init("id", .uuid, "the attribution period")],
        result: periods, access: .role(.member)
    ) { context, params throws(RPCError) in
        let results = try await context.run([
            Statement(
                """
                DELETE FROM app.attribution_periods
                WHERE organisation_id = app.current_organisation_id() AND engagement_id = $1::uuid AND id = $2::uuid
                """, [params.string("engagement_id"), params.string("id")]),
            listing(params.string("engagement_id")),
        ])
        guard results[0].affectedRows == 1, let body = results[1].bytes(0, 0) else { throw RPCError(.notFound, reason: "not_found") }
        return .result(rawJSON: body)
    }

    static let list = MethodDefinition(
        "attribution.list", summary: "An engagement's attribution periods and its default deliverer.",
        params: [.init("engagement_id", .uuid, "the engagement")],
        result: periods, access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(listing(params.string("engagement_id")))
    }

    static func listing(_ engagement: String?) -> Statement {
        Statement(
            """
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'id', a.id, 'party_id', a.party_id, 'party', p.name, 'from_period', to_char(a.from_period, 'YYYY-MM'),
                       'to_period', to_char(a.to_period, 'YYYY-MM')) ORDER BY a.from_period) FILTER (WHERE a.id IS NOT NULL), '[]')
            FROM app.engagements e
            LEFT JOIN app.attribution_periods a ON a.organisation_id = e.organisation_id AND a.engagement_id = e.id
            LEFT JOIN app.parties p ON p.organisation_id = a.organisation_id AND p.id = a.party_id
            WHERE e.organisation_id = app.current_organisation_id() AND e.id = $1::uuid
            GROUP BY e.id
            """, [engagement])
    }
}

import JSONRPC
import PostgresClient

/// Reading health: the current score with its arithmetic, and the stored monthly history.
enum HealthMethods {
    static let all: [MethodDefinition] = [explain, history]

    /// An ISO 8601 date or date-time.
    static let timestamp = Schema.string(
        minLength: 10, maxLength: 40, pattern: "[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?")

    static let explain = MethodDefinition(
        "health.explain",
        summary: "An engagement's current health score and band, with each metric's raw value, normalised score, weight, the freshness decay and the arithmetic.",
        params: [
            .init("engagement_id", .uuid, "the engagement"),
            .init("as_of", timestamp, required: false, "score as of this moment (default now)"),
        ],
        result: .any(description: """
            {engagement_id, status, as_of, model: {id, name, red_below, amber_below}, period, monthly_score, score, band, \
            metrics: [{metric, kpi, raw, basis, full_at, zero_at, normalised, weight, effective_weight}], left_out, \
            freshness: {since, age_days, active_days, paused_days, grace_days, overdue_days, decay_points_per_30_days, decay}, explanation}
            """),
        access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(
            "SELECT app.health_explain($1::uuid, coalesce($2::timestamptz, now()))",
            [params.string("engagement_id"), params.string("as_of")]))
    }

    static let history = MethodDefinition(
        "health.history", summary: "An engagement's monthly scores and bands (as computed from each month's check-in), oldest first.",
        params: [
            .init("engagement_id", .uuid, "the engagement"),
            .init("from", CheckInMethods.period, required: false, "first month, YYYY-MM"),
            .init("to", CheckInMethods.period, required: false, "last month, YYYY-MM"),
        ],
        result: .any(description: "[{period, score, band, model_id, metrics, computed_at}]"), access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(
            """
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'period', to_char(s.period, 'YYYY-MM'), 'score', s.score, 'band', s.band, 'model_id', s.model_id,
                       'metrics', s.metrics, 'computed_at', s.computed_at) ORDER BY s.period)
                       FILTER (WHERE s.period IS NOT NULL), '[]')
            FROM app.engagements e
            LEFT JOIN app.health_scores s ON s.organisation_id = e.organisation_id AND s.engagement_id = e.id
                 AND ($2::text IS NULL OR s.period >= to_date($2, 'YYYY-MM'))
                 AND ($3::text IS NULL OR s.period <= to_date($3, 'YYYY-MM'))
            WHERE e.organisation_id = app.current_organisation_id() AND e.id = $1::uuid
            GROUP BY e.id
            """, [params.string("engagement_id"), params.string("from"), params.string("to")]))
    }
}

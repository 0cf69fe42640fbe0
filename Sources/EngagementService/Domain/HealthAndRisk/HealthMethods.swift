import JSONRPC

/// Reading health: the current score with its arithmetic, and the stored monthly history. The work:
/// `SQL/definitions/0140_api_tracking.sql` (and the arithmetic in `0019_health_now.sql`).
enum HealthMethods {
    static let all: [MethodDefinition] = [explain, history]

    /// An ISO 8601 date or date-time.
    static let timestamp = Schema.string(
        minLength: 10, maxLength: 40, pattern: "[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?")

    /// Before the first check-in only engagement_id, status, as_of, model {id, name}, score (null), band
    /// (unknown) and explanation are present.
    static let explanation = Schema.object([
        .init("engagement_id", .uuid, "the engagement"),
        .init("status", .enumeration(EngagementMethods.statuses), "its status (decay pauses unless active)"),
        .init("as_of", .string(), "the moment scored"),
        .init("model", .object([
            .init("id", .uuid, "the model"), .init("name", .string(), "its name"),
            .init("red_below", .number, required: false, "red below this score"),
            .init("amber_below", .number, required: false, "amber below this score"),
        ]), "the health model used"),
        .init("period", .string(), required: false, "the month of the latest scored check-in, YYYY-MM"),
        .init("monthly_score", .nullable(.number), required: false, "that month's score before decay"),
        .init("score", .nullable(.number), "the current score, 0–100"),
        .init("band", .enumeration(["red", "amber", "green", "unknown"]), "the current band"),
        .init("metrics", .array(items: .any(description: "{metric, kpi, raw, basis, full_at, zero_at, normalised, weight, effective_weight}")),
              required: false, "each metric's inputs and arithmetic"),
        .init("left_out", .array(items: .string()), required: false, "metrics without data (their weight is redistributed)"),
        .init("freshness", .object([
            .init("since", .nullable(.string(format: "date-time")), "when the month's check-in came"),
            .init("age_days", .number, "days since"), .init("active_days", .number, "of them while active"),
            .init("paused_days", .number, "of them while not active"), .init("grace_days", .integer(minimum: 0), "the model's grace"),
            .init("overdue_days", .number, "active days past the grace"),
            .init("decay_points_per_30_days", .number, "the model's decay rate"), .init("decay", .number, "points taken off"),
        ]), required: false, "the freshness decay"),
        .init("explanation", .string(), "the arithmetic in words"),
    ])

    static let explain = MethodDefinition(
        "health.explain",
        summary: "An engagement's current health score and band, with each metric's raw value, normalised score, weight, the freshness decay and the arithmetic.",
        params: [
            .init("engagement_id", .uuid, "the engagement"),
            .init("as_of", timestamp, required: false, "score as of this moment (default now)"),
        ],
        result: explanation,
        access: .role(.viewer),
        function: "api.health_explain")

    static let history = MethodDefinition(
        "health.history", summary: "An engagement's monthly scores and bands (as computed from each month's check-in), oldest first.",
        params: [
            .init("engagement_id", .uuid, "the engagement"),
            .init("from", CheckInMethods.period, required: false, "first month, YYYY-MM"),
            .init("to", CheckInMethods.period, required: false, "last month, YYYY-MM"),
        ],
        result: .array(items: .object([
            .init("period", .string(), "YYYY-MM"), .init("score", .nullable(.number), "0–100"),
            .init("band", .nullable(.enumeration(["red", "amber", "green"])), "the band of the score"),
            .init("model_id", .uuid, "the model it was computed with"),
            .init("metrics", .any(description: "each metric's raw value, normalised score and weight"), "the inputs"),
            .init("computed_at", .string(format: "date-time"), "when"),
        ])), access: .role(.viewer),
        function: "api.health_history")
}

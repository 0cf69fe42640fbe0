import JSONRPC

/// The data of the visual engagement report (`engagementctl report CODE --html`), for one engagement or a parent
/// account, in one answer. The work: `SQL/definitions/0510_engagement_report.sql`.
enum EngagementReportMethods {
    static let all: [MethodDefinition] = [report]

    static let amount = Schema.nullable(.number)
    static let band = Schema.enumeration(["red", "amber", "green", "unknown"])
    static let trend = Schema.array(items: .object([
        .init("period", .string(), "YYYY-MM"), .init("score", amount, "0–100"), .init("band", .nullable(band), "its band"),
    ]))

    static let report = MethodDefinition(
        "report.engagement",
        summary: "Everything the engagement report draws, for an engagement or a parent account (its subtree): health trend and metrics, open risks, plan vs actual per month, children with their bands, objectives, initiatives by stage, commitments, SLA credits.",
        params: [
            .init("engagement_id", .uuid, required: false, "the engagement (or give code)"),
            .init("code", ServiceMethods.code, required: false, "the engagement by code"),
            .init("from", CheckInMethods.period, required: false, "first month (default: eleven months before to)"),
            .init("to", CheckInMethods.period, required: false, "last month (default: the latest check-in's)"),
        ],
        result: .object([
            .init("engagement", EngagementMethods.engagement, "the engagement, as engagement.get"),
            .init("from", .string(), "first month, YYYY-MM"), .init("to", .string(), "last month, YYYY-MM"),
            .init("generated_at", .string(format: "date-time"), "when"),
            .init("subtree_size", .integer(minimum: 1), "engagements covered: itself and its descendants"),
            .init("health", .object([
                .init("score", amount, "the current score, 0–100"), .init("band", band, "the current band"),
                .init("model", .object([
                    .init("id", .uuid, "the model"), .init("name", .string(), "its name"),
                    .init("red_below", .number, "red below this score"), .init("amber_below", .number, "amber below this score"),
                ]), "the engagement's health model"),
                .init("metrics", .array(items: .object([
                    .init("metric", .string(), "what is measured"), .init("kpi", .nullable(.string()), "its KPI, for KPI metrics"),
                    .init("normalised", amount, "its score, 0–100"), .init("weight", amount, "its effective weight"),
                ])), "the current score's metrics (health.explain)"),
                .init("trend", trend, "the monthly scores of the range, oldest first"),
                .init("child_trends", .array(items: .object([.init("code", .string(), "the child"), .init("trend", trend, "its monthly scores")])),
                      "the direct children's monthly scores (those with any in the range)"),
            ]), "the engagement's own health, and its children's trends"),
            .init("risks", .array(items: .object([
                .init("id", .uuid, "the risk"), .init("engagement_code", .string(), "whose"), .init("title", .string(), "what"),
                .init("probability", .enumeration(RiskMethods.probabilities), "how likely"),
                .init("impact", .enumeration(RiskMethods.impacts), "how bad"),
                .init("severity", .enumeration(RiskMethods.severities), "from the matrix"),
                .init("status", .enumeration(["open", "mitigating"]), "open or mitigating"),
            ])), "open and mitigating risks of the subtree, worst first"),
            .init("risk_grid", .array(items: .object([
                .init("probability", .enumeration(RiskMethods.probabilities), "row"), .init("impact", .enumeration(RiskMethods.impacts), "column"),
                .init("severity", .enumeration(RiskMethods.severities), "the matrix's severity of the cell"),
                .init("count", .integer(minimum: 0), "open and mitigating risks in the cell"),
            ])), "every probability × impact cell, probability ascending then impact"),
            .init("months", .array(items: .object([
                .init("period", .string(), "YYYY-MM"),
                .init("money", .array(items: .object([
                    .init("currency", .string(), "ISO 4217"), .init("revenue_plan", amount, "planned revenue"),
                    .init("revenue_actual", amount, "actual revenue"), .init("cost_plan", amount, "planned cost"),
                    .init("cost_actual", amount, "actual cost"),
                ])), "per currency"),
                .init("planned_hours", amount, "capacity planned"), .init("actual_hours", amount, "hours worked"),
            ])), "plan vs actual per month of the range, over the subtree"),
            .init("children", .array(items: .object([
                .init("id", .uuid, "the child"), .init("code", .string(), "its code"), .init("name", .string(), "its name"),
                .init("status", .enumeration(EngagementMethods.statuses), "its status"), .init("score", amount, "its current score"),
                .init("band", band, "its current band"),
            ])), "the direct children"),
            .init("objectives", .array(items: .object([
                .init("id", .uuid, "the objective"), .init("title", .string(), "what"), .init("status", .string(), "where it stands"),
                .init("target_date", .nullable(EngagementMethods.date), "by when"),
            ])), "objectives of the subtree"),
            .init("initiatives_by_stage", .dictionary(values: .integer(minimum: 0)), "initiatives of the subtree per stage"),
            .init("commitments", .object([
                .init("delivered", .boolean, "no commitment applying to the subtree lapsed"),
                .init("by_status", .dictionary(values: .integer(minimum: 0)), "commitments by overall status"),
            ]), "did we deliver? (report.commitments)"),
            .init("sla_credits", .array(items: .object([
                .init("currency", .string(), "ISO 4217"), .init("credits", .number, "credits issued"),
                .init("breaches", .integer(minimum: 0), "periods breached"),
            ])), "SLA credits of the range per currency (sla.credits)"),
        ]),
        access: .role(.viewer),
        function: "api.report_engagement")
}

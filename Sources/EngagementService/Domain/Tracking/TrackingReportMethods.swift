import JSONRPC

/// Reports over check-ins, computed by PostgreSQL (`app.plan_vs_actual`, `app.showback`; called by
/// `SQL/definitions/0140_api_tracking.sql`) and passed through.
enum TrackingReportMethods {
    static let all: [MethodDefinition] = [planVsActual, showback]

    static let amount = Schema.nullable(.number)
    static let planVsActualReport = Schema.object([
        .init("engagement_id", .uuid, "the engagement"),
        .init("lines", .array(items: .object([
            .init("period", .string(), "YYYY-MM"), .init("category", .string(), "finance category"), .init("currency", .string(), "ISO 4217"),
            .init("plan", amount, "planned"), .init("actual", amount, "actual"), .init("variance", amount, "actual − plan"),
            .init("variance_percent", amount, "variance as % of plan"),
        ])), "per month, category and currency"),
        .init("totals", .array(items: .object([
            .init("currency", .string(), "ISO 4217"), .init("revenue_plan", amount, "planned revenue"),
            .init("revenue_actual", amount, "actual revenue"), .init("cost_plan", amount, "planned cost"),
            .init("cost_actual", amount, "actual cost"), .init("cost_variance", amount, "actual − planned cost"),
            .init("cost_variance_percent", amount, "as % of planned cost"),
        ])), "per currency"),
        .init("hours", .array(items: .object([
            .init("period", .string(), "YYYY-MM"), .init("role", .string(), "role"), .init("planned_hours", amount, "planned"),
            .init("actual_hours", amount, "worked"), .init("variance", amount, "actual − planned"),
            .init("utilisation_percent", amount, "actual / planned × 100"),
        ])), "per month and role"),
        .init("derived_revenue", .array(items: .object([
            .init("period", .string(), "YYYY-MM"), .init("currency", .string(), "the contract's"), .init("plan", amount, "planned hours × rate"),
            .init("actual", amount, "actual hours × rate"), .init("variance", amount, "actual − plan"),
        ])), "time-and-materials revenue from hours × contract rates"),
        .init("unrated_roles", .array(items: .string()), "roles with hours but no contract rate"),
        .init("revenue_at_risk", .array(items: .object([
            .init("currency", .string(), "ISO 4217"), .init("sla_credits", .number, "service credits computed for its SLA breaches"),
            .init("breached_periods", .integer(minimum: 0), "measurement periods breached"),
        ])), "per currency: the SLA credits of the range (sla.credits has each)"),
    ])

    static let showbackReport = Schema.array(items: .object([
        .init("party_id", .uuid, "the delivery party"), .init("party", .string(), "its name"),
        .init("engagement_id", .uuid, "the engagement"), .init("period", .string(), "YYYY-MM"),
        .init("money", .array(items: .object([
            .init("currency", .string(), "ISO 4217"), .init("cost_plan", amount, "planned cost"), .init("cost_actual", amount, "actual cost"),
            .init("revenue_plan", amount, "planned revenue"), .init("revenue_actual", amount, "actual revenue"),
        ])), "per currency"),
        .init("planned_hours", amount, "planned"), .init("actual_hours", amount, "worked"),
        .init("kpis_owned", .array(items: .string()), "names of the KPIs it owns"),
    ]))

    static let planVsActual = MethodDefinition(
        "report.plan_vs_actual",
        summary: "Plan against actual per month, category and currency (variance and %), totals, hours, and T&M revenue derived from hours × contract rates.",
        params: [
            .init("engagement_id", .uuid, "the engagement"),
            .init("from", CheckInMethods.period, required: false, "first month, YYYY-MM"),
            .init("to", CheckInMethods.period, required: false, "last month, YYYY-MM"),
        ],
        result: planVsActualReport,
        access: .role(.viewer),
        function: "api.report_plan_vs_actual")

    static let showback = MethodDefinition(
        "report.showback",
        summary: "What each delivery party accounts for, per engagement and month: costs and revenue per currency, hours, KPIs owned.",
        params: [
            .init("engagement_id", .uuid, required: false, "only this engagement"),
            .init("party_id", .uuid, required: false, "only this delivery party"),
            .init("from", CheckInMethods.period, required: false, "first month, YYYY-MM"),
            .init("to", CheckInMethods.period, required: false, "last month, YYYY-MM"),
        ],
        result: showbackReport,
        access: .role(.viewer),
        function: "api.report_showback")
}

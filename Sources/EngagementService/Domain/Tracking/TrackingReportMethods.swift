import JSONRPC
import PostgresClient

/// Reports over check-ins, computed by PostgreSQL (`app.plan_vs_actual`, `app.showback`) and passed through.
enum TrackingReportMethods {
    static let all: [MethodDefinition] = [planVsActual, showback]

    static let planVsActual = MethodDefinition(
        "report.plan_vs_actual",
        summary: "Plan against actual per month, category and currency (variance and %), totals, hours, and T&M revenue derived from hours × contract rates.",
        params: [
            .init("engagement_id", .uuid, "the engagement"),
            .init("from", CheckInMethods.period, required: false, "first month, YYYY-MM"),
            .init("to", CheckInMethods.period, required: false, "last month, YYYY-MM"),
        ],
        result: .any(description: """
            {engagement_id, lines: [{period, category, currency, plan, actual, variance, variance_percent}], totals: \
            [{currency, revenue_plan, revenue_actual, cost_plan, cost_actual, cost_variance, cost_variance_percent}], \
            hours: [{period, role, planned_hours, actual_hours, variance, utilisation_percent}], derived_revenue: \
            [{period, currency, plan, actual, variance}], unrated_roles: [role]}
            """),
        access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(
            "SELECT app.plan_vs_actual($1::uuid, to_date($2, 'YYYY-MM'), to_date($3, 'YYYY-MM'))",
            [params.string("engagement_id"), params.string("from"), params.string("to")]))
    }

    static let showback = MethodDefinition(
        "report.showback",
        summary: "What each delivery party accounts for, per engagement and month: costs and revenue per currency, hours, KPIs owned.",
        params: [
            .init("engagement_id", .uuid, required: false, "only this engagement"),
            .init("party_id", .uuid, required: false, "only this delivery party"),
            .init("from", CheckInMethods.period, required: false, "first month, YYYY-MM"),
            .init("to", CheckInMethods.period, required: false, "last month, YYYY-MM"),
        ],
        result: .any(description: """
            [{party_id, party, engagement_id, period, money: [{currency, cost_plan, cost_actual, revenue_plan, \
            revenue_actual}], planned_hours, actual_hours, kpis_owned: [name]}]
            """),
        access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(
            "SELECT app.showback($1::uuid, $2::uuid, to_date($3, 'YYYY-MM'), to_date($4, 'YYYY-MM'))",
            [params.string("engagement_id"), params.string("party_id"), params.string("from"), params.string("to")]))
    }
}

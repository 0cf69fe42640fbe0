import JSONRPC

/// Renewals, contract health and satisfaction: delivery proposing a renewal, renewals due with retention, the
/// health of every active contract, and a satisfaction KPI's distribution per service. The renewal signal itself
/// is raised by the maintenance sweep (`app.sweep_renewals`). The work: `SQL/definitions/0430_renewals.sql` (the
/// renewal states and the retention formula are in its header) and `0431_contract_health.sql`.
enum RenewalMethods {
    static let month = CheckInMethods.period
    static let states = ["retained", "churned", "pending"]
    static let count = Schema.integer(minimum: 0)
    static let amounts = Schema.dictionary(values: .number)
    static let customer = Schema.object([.init("id", .uuid, "the customer"), .init("name", .string(), "its name")])
    static let range: [Schema.Field] = [
        .init("from", month, required: false, "first month, YYYY-MM"), .init("to", month, required: false, "last month, YYYY-MM"),
    ]

    static let renewals = Schema.object([
        .init("from", .string(), "first month"), .init("to", .string(), "last month"),
        .init("months", .array(items: .object([
            .init("month", .string(), "YYYY-MM"), .init("contracts", count, "contracts ending that month"),
            .init("value", amounts, "their value per currency"),
            .init("retained", count, "renewal won"), .init("churned", count, "lost, terminated, or ended without renewal"),
            .init("pending", count, "neither yet"),
        ])), "renewals due by month"),
        .init("contracts", .array(items: .object([
            .init("contract_id", .uuid, "the contract"), .init("reference", .string(), "its reference"), .init("title", .string(), "its title"),
            .init("customer", customer, "its customer"), .init("end_date", EngagementMethods.date, "when it ends"),
            .init("value", .nullable(.number), "its value"), .init("currency", .string(), "its currency"),
            .init("status", .string(), "the contract's status"),
            .init("signal_raised_at", .nullable(.string(format: "date-time")), "when the renewal signal was raised"),
            .init("opportunity_id", .nullable(.uuid), "its renewal opportunity (won, else open, else the latest)"),
            .init("opportunity_stage", .nullable(.string()), "that opportunity's stage"),
            .init("renewal_state", .enumeration(states), "retained, churned or pending"),
        ])), "each contract ending in the window"),
        .init("retention", .array(items: .object([
            .init("currency", .string(), "ISO 4217"), .init("up_for_renewal", .number, "value of the contracts ending in the window"),
            .init("retained", .nullable(.number), "value retained"), .init("churned", .number, "value churned"),
            .init("pending", .nullable(.number), "value still pending"),
            .init("retention", .nullable(.number), "1 − churned ÷ up for renewal"),
            .init("closed_retention", .nullable(.number), "retained ÷ (retained + churned)"),
        ])), "per currency"),
    ])

    static let contractHealth = Schema.object([
        .init("contracts", .array(items: .object([
            .init("contract", .object([
                .init("id", .uuid, "the contract"), .init("reference", .string(), "its reference"), .init("title", .string(), "its title"),
                .init("status", .string(), "its status"), .init("value", .nullable(.number), "its value"),
                .init("currency", .string(), "its currency"), .init("start_date", EngagementMethods.date, "start"),
                .init("end_date", .nullable(EngagementMethods.date), "end"), .init("customer", customer, "its customer"),
            ]), "the contract"),
            .init("health", .object([
                .init("band", .enumeration(["red", "amber", "green", "unknown"]), "the worst band among its engagements"),
                .init("mean", .nullable(.number), "their mean current score"),
                .init("engagements", .array(items: .object([
                    .init("id", .uuid, "the engagement"), .init("code", .string(), "its code"),
                    .init("score", .nullable(.number), "current score"), .init("band", .nullable(.string()), "current band"),
                ])), "each engagement's current health"),
            ]), "its engagements' health"),
            .init("risks", .object([
                .init("open", count, "open or mitigating risks"), .init("by_severity", .dictionary(values: count), "by severity"),
            ]), "open risks of its engagements"),
            .init("commitments", .object([
                .init("delivered", .boolean, "none lapsed"), .init("count", count, "commitments"),
                .init("by_status", .dictionary(values: count), "by overall status"),
            ]), "did we deliver?"),
            .init("sla", .object([
                .init("breached_periods", count, "SLA periods breached"), .init("credits", .number, "credits issued, in its currency"),
            ]), "SLA breaches and credits"),
            .init("renewal", .nullable(.object([
                .init("state", .enumeration(states), "retained, churned or pending"), .init("days_to_end", .integer(), "days until it ends"),
                .init("signal_raised_at", .nullable(.string(format: "date-time")), "renewal signal"),
                .init("opportunity_id", .nullable(.uuid), "its renewal opportunity"), .init("opportunity_stage", .nullable(.string()), "its stage"),
            ])), "where its renewal stands (null: no end date)"),
        ])), "each contract"),
        .init("summary", .object([
            .init("contracts", count, "contracts reported"), .init("by_band", .dictionary(values: count), "contracts by worst band"),
            .init("health_weighted_by_value", amounts, "per currency: mean health weighted by contract value"),
        ]), "over all of them"),
    ])

    static let satisfaction = Schema.object([
        .init("kpi", .string(), "the KPI asked for"),
        .init("services", .array(items: .object([
            .init("service", .object([
                .init("id", .uuid, "the service"), .init("code", .string(), "its code"), .init("name", .string(), "its name"),
            ]), "the product offering"),
            .init("engagements", count, "engagements with values"), .init("values", count, "values checked in"),
            .init("mean", .number, "mean"), .init("min", .number, "lowest"), .init("p25", .number, "first quartile"),
            .init("median", .number, "median"), .init("p75", .number, "third quartile"), .init("max", .number, "highest"),
            .init("by_month", .array(items: .object([
                .init("period", .string(), "YYYY-MM"), .init("values", count, "values"), .init("mean", .number, "mean"),
            ])), "per month"),
            .init("by_engagement", .array(items: .object([
                .init("engagement_id", .uuid, "the engagement"), .init("code", .string(), "its code"), .init("values", count, "values"),
                .init("mean", .number, "mean"), .init("latest", .number, "latest month's value"),
            ])), "per engagement"),
        ])), "per service"),
    ])

    static let all: [MethodDefinition] = [
        MethodDefinition("engagement.propose_renewal",
            summary: "Start the renewal conversation: open a renewal opportunity of the engagement (and its contract), with the contract's value, currency and end date unless given; an open one is returned as it is.",
            params: [
                .init("id", .uuid, "the engagement"),
                .init("title", .string(minLength: 1, maxLength: 200), required: false, "default: Renewal: <engagement name>"),
                .init("value", .nonNegativeNumber, required: false, "default: the contract's value"),
                .init("currency", ContractMethods.currency, required: false, "default: the contract's (required without one)"),
                .init("expected_close_date", EngagementMethods.date, required: false, "default: the contract's end"),
                .init("owner_user_id", .uuid, required: false, "default: the engagement's owner, else you"),
                DomainSupport.idempotencyField,
            ],
            result: OpportunityMethods.opportunity, access: .role(.member), function: "api.engagement_propose_renewal"),

        MethodDefinition("report.renewals",
            summary: "Renewals due by month with their value, each contract's renewal state, and retention per currency (1 − churned ÷ up for renewal) over a window of months (default: the next twelve).",
            params: range, result: renewals, access: .role(.viewer), function: "api.report_renewals"),

        MethodDefinition("report.contract_health",
            summary: "The health of every contract of a status (default active) or of one: engagements' health, open risks, commitments, SLA credits, renewal; and the mean health weighted by value.",
            params: [
                .init("status", ContractMethods.statuses, required: false, "contracts of this status (default active)"),
                .init("contract_id", .uuid, required: false, "only this contract"),
            ],
            result: contractHealth, access: .role(.viewer), function: "api.report_contract_health"),

        MethodDefinition("report.satisfaction",
            summary: "Per service, the distribution of a satisfaction KPI (by name, e.g. NPS, CSAT) over engagements and months.",
            params: [
                .init("kpi", .string(minLength: 1, maxLength: 100), "the KPI's name"),
                .init("service_id", .uuid, required: false, "only this service"),
            ] + range,
            result: satisfaction, access: .role(.viewer), function: "api.report_satisfaction"),
    ]
}

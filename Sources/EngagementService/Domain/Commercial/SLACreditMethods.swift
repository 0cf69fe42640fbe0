import JSONRPC

/// SLA breaches and service credits, computed by the database per contract SLA term, engagement and measurement
/// period from the KPI actuals, recomputed when an input changes; exclusion windows removed before measuring.
/// Read by every role; exclusions written by managers. The work and its formulas:
/// `SQL/definitions/0420_sla_terms.sql`, `0421_sla_credits.sql`, `0422_api_sla.sql`.
enum SLACreditMethods {
    static let timestamp = HealthMethods.timestamp
    static let month = CheckInMethods.period
    static let result: [Schema.Field] = [
        .init("term_id", .uuid, "the contract's SLA term"), .init("metric", .string(), "its metric (the KPI's name)"),
        .init("engagement_id", .uuid, "the engagement measured"),
        .init("period_start", EngagementMethods.date, "first day"), .init("period_end", EngagementMethods.date, "last day"),
        .init("status", .enumeration(["met", "breached", "excluded"]), "met, breached, or wholly excluded"),
        .init("measured", .nullable(.number), "the period's value as checked in"),
        .init("adjusted", .nullable(.number), "after the exclusions"),
        .init("excluded_minutes", .number, "minutes excluded in the period"),
        .init("tier", .any(description: "the penalty tier applied, or null"), "the worst tier breached"),
        .init("fee", .nullable(.number), "the period's fee"), .init("credit", .number, "the credit issued"),
        .init("currency", .string(), "the contract's"),
        .init("computed_at", .string(format: "date-time"), "when it was last computed"),
    ]
    static let exclusion = Schema.object([
        .init("id", .uuid, "the exclusion"), .init("term_id", .uuid, "the SLA term"), .init("engagement_id", .uuid, "the engagement"),
        .init("starts_at", .string(format: "date-time"), "from"), .init("ends_at", .string(format: "date-time"), "until"),
        .init("minutes", .number, "its length"), .init("reason", .string(), "why it does not count"),
        .init("created_at", .string(format: "date-time"), "recorded"),
    ])

    static let all: [MethodDefinition] = [
        MethodDefinition("sla.credits",
            summary: "SLA results (met, breached, excluded) with the credits issued, of an engagement, its subtree or a contract's engagements, and the credits per currency.",
            params: [
                .init("engagement_id", .uuid, required: false, "one engagement"),
                .init("subtree", .boolean, required: false, "with engagement_id: its whole subtree"),
                .init("contract_id", .uuid, required: false, "or every engagement of a contract"),
                .init("from", month, required: false, "first month, YYYY-MM"), .init("to", month, required: false, "last month, YYYY-MM"),
                .init("breached", .boolean, required: false, "only breaches"),
            ],
            result: .object([
                .init("items", .array(items: .object(result)), "per term, engagement and period"),
                .init("totals", .array(items: .object([
                    .init("currency", .string(), "ISO 4217"), .init("credits", .number, "credits issued"),
                    .init("breaches", .integer(minimum: 0), "periods breached"),
                ])), "per currency"),
            ]),
            access: .role(.viewer), function: "api.sla_credits"),

        MethodDefinition("sla.explain",
            summary: "The arithmetic of one SLA result: each month's value and exclusions, the measured value, breach, tier, fee, cap, minimum and credit.",
            params: [
                .init("engagement_id", .uuid, "the engagement"), .init("term_id", .uuid, "the SLA term"),
                .init("period", month, "a month of the measurement period, YYYY-MM"),
            ],
            result: .object(result + [.init("explanation", .any(description: "every step of the computation"), "how it was computed")]),
            access: .role(.viewer), function: "api.sla_explain"),

        MethodDefinition("sla.add_exclusion",
            summary: "Exclude a window of time from an SLA term's measurement for one engagement (windows never overlap: -32004 overlaps).",
            params: [
                .init("term_id", .uuid, "the contract's SLA term"), .init("engagement_id", .uuid, "an engagement of that contract"),
                .init("starts_at", timestamp, "from"), .init("ends_at", timestamp, "until (after starts_at)"),
                .init("reason", .string(minLength: 1, maxLength: 500), "why it does not count (planned maintenance, …)"),
                DomainSupport.idempotencyField,
            ],
            result: exclusion, access: .role(.manager), function: "api.sla_add_exclusion"),

        MethodDefinition("sla.remove_exclusion", summary: "Remove an exclusion window; the results are recomputed.",
            params: [.init("id", .uuid, "the exclusion")], result: DomainSupport.deleted, access: .role(.manager),
            function: "api.sla_remove_exclusion"),

        MethodDefinition("sla.exclusions", summary: "Exclusion windows, of one engagement or term.",
            params: [
                .init("engagement_id", .uuid, required: false, "only this engagement's"),
                .init("term_id", .uuid, required: false, "only this term's"),
            ],
            result: .array(items: exclusion), access: .role(.viewer), function: "api.sla_exclusions"),
    ]
}

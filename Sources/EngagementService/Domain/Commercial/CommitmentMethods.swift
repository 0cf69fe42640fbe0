import JSONRPC

/// What a contract commits to — FTE clauses, hours blocks, deliverables due — and whether it was delivered, per
/// period, from the check-ins' capacity actuals and the deliverables' acceptance; the organisation's commercial
/// settings. Read by every role; commitments and settings written by managers. The work:
/// `SQL/definitions/0411_commitments.sql` and `0412_commitment_fulfilment.sql` (the formulas are in its header).
enum CommitmentMethods {
    static let kinds = ["fte", "hours", "deliverable"]
    static let periods = ["month", "quarter", "contract"]
    static let statuses = ["not_applicable", "not_started", "unfulfilled", "partially_fulfilled", "fulfilled", "lapsed"]
    static let date = EngagementMethods.date
    static let month = CheckInMethods.period

    static let fulfilment = Schema.object([
        .init("status", .enumeration(statuses), "overall: lapsed if any period lapsed, fulfilled if all are, …"),
        .init("percent", .nullable(.number), "delivered ÷ required over the periods begun, each capped at its requirement"),
        .init("required_to_date", .nullable(.number), "hours (deliverables) required by the periods begun"),
        .init("delivered_to_date", .nullable(.number), "hours (deliverables) delivered towards them, capped per period"),
        .init("periods", .array(items: .object([
            .init("period_start", date, "first day"), .init("period_end", date, "last day"),
            .init("required", .nullable(.number), "hours (fte: fte × hours per FTE, prorated), or deliverables"),
            .init("delivered", .nullable(.number), "actual hours of the check-ins, or deliverables accepted by the due date"),
            .init("percent", .nullable(.number), "delivered ÷ required × 100"),
            .init("status", .enumeration(statuses), "this period's"),
        ])), "the evidence, per period"),
    ])
    static let commitment = Schema.object([
        .init("id", .uuid, "the commitment"), .init("contract_id", .uuid, "its contract"),
        .init("kind", .enumeration(kinds), "fte, hours or deliverable"), .init("title", .string(), "what is promised"),
        .init("fte", .nullable(.number), "full-time equivalents per month"), .init("hours", .nullable(.number), "hours per period"),
        .init("period", .enumeration(periods), "month, quarter, or the whole commitment"),
        .init("role", .nullable(.string()), "only this role's hours count"),
        .init("start_date", date, "first day"), .init("end_date", .nullable(date), "last day (null: open-ended)"),
        .init("due_date", .nullable(date), "a deliverable's due date"),
        .init("engagement_ids", .array(items: .uuid), "the engagements it applies to ([]: all of its contract's)"),
        .init("fulfilment", fulfilment, "did we deliver?"),
        .init("deliverables", .array(items: .object([
            .init("id", .uuid, "the deliverable"), .init("title", .string(), "its title"), .init("engagement_id", .uuid, "its engagement"),
            .init("status", .enumeration(ProjectMethods.deliverableStatuses), "where it stands"),
            .init("due_date", .nullable(date), "its own due date"),
            .init("accepted_at", .nullable(.string(format: "date-time")), "accepted"), .init("accepted_by", .nullable(.uuid), "by whom"),
        ])), "the deliverables linked to it"),
    ] + DomainSupport.rowFields)
    static let settings = Schema.object([
        .init("hours_per_fte", .number, "hours one FTE stands for in a month (default 160)"),
        .init("renewal_window_days", .integer(minimum: 1), "contracts ending within this many days raise the renewal signal"),
        .init("auto_renewal_opportunities", .boolean, "the signal also opens the renewal opportunity"),
        .init("updated_at", .string(format: "date-time"), "last changed"),
    ])
    static let range: [Schema.Field] = [
        .init("from", month, required: false, "first month shown, YYYY-MM (months outside the commitment: not_applicable)"),
        .init("to", month, required: false, "last month shown, YYYY-MM"),
    ]

    static let all: [MethodDefinition] = [
        MethodDefinition("commitment.create",
            summary: "Commit a contract to an FTE clause (fte per month), an hours block (hours per month, quarter or contract) or a deliverable (due_date); dates default to the contract's.",
            params: [
                .init("contract_id", .uuid, "the contract"),
                .init("kind", .enumeration(kinds), "fte, hours or deliverable"),
                .init("title", .string(minLength: 1, maxLength: 200), "what is promised"),
                .init("fte", .number, required: false, "fte: full-time equivalents per month (> 0)"),
                .init("hours", .number, required: false, "hours: the block (> 0)"),
                .init("period", .enumeration(periods), required: false, "hours: per month (default), quarter or contract"),
                .init("role", .string(minLength: 1, maxLength: 100), required: false, "count only this role's hours"),
                .init("start_date", date, required: false, "default: the contract's start"),
                .init("end_date", date, required: false, "default: the contract's end"),
                .init("due_date", date, required: false, "deliverable: due by"),
                .init("engagement_ids", .array(items: .uuid, maxItems: 100), required: false,
                      "engagements of the contract it applies to (default: all of them)"),
                DomainSupport.idempotencyField,
            ],
            result: commitment, access: .role(.manager), function: "api.commitment_create"),

        MethodDefinition("commitment.get", summary: "One commitment with its fulfilment per period (from/to: a range of months).",
            params: [.init("id", .uuid, "the commitment")] + range, result: commitment, access: .role(.viewer),
            function: "api.commitment_get"),

        MethodDefinition("commitment.update", summary: "Change a commitment (its kind stays); engagement_ids replaces the list.",
            params: DomainSupport.versioned("the commitment") + [
                .init("title", .string(minLength: 1, maxLength: 200), required: false, "new title"),
                .init("fte", .number, required: false, "new fte"), .init("hours", .number, required: false, "new hours"),
                .init("period", .enumeration(periods), required: false, "new period"),
                .init("role", .nullable(.string(minLength: 1, maxLength: 100)), required: false, "new role; null: every role"),
                .init("start_date", date, required: false, "new start"),
                .init("end_date", .nullable(date), required: false, "new end; null: open-ended (contract without end)"),
                .init("due_date", date, required: false, "new due date"),
                .init("engagement_ids", .array(items: .uuid, maxItems: 100), required: false, "replaces the list ([]: all)"),
            ],
            result: commitment, access: .role(.manager), function: "api.commitment_update"),

        MethodDefinition("commitment.delete", summary: "Delete a commitment (its deliverables stay, unlinked).",
            params: DomainSupport.versioned("the commitment"), result: DomainSupport.deleted, access: .role(.manager),
            function: "api.commitment_delete"),

        MethodDefinition("commitment.list", summary: "Commitments with their fulfilment, by contract, kind, or engagement they apply to.",
            params: [
                .init("contract_id", .uuid, required: false, "only this contract's"),
                .init("kind", .enumeration(kinds), required: false, "only this kind"),
                .init("engagement_id", .uuid, required: false, "only those applying to this engagement"),
            ] + DomainSupport.listFields(sorts: ["created_at", "name"], defaultSort: "created_at"),
            result: DomainSupport.page(of: commitment), access: .role(.viewer), function: "api.commitment_list"),

        MethodDefinition("report.commitments",
            summary: "Did we deliver all of the commitments? Per contract (of an engagement, its subtree, a contract, a portfolio, or all): yes/no, counts by status, each commitment with its evidence.",
            params: [
                .init("engagement_id", .uuid, required: false, "the commitments applying to this engagement"),
                .init("subtree", .boolean, required: false, "with engagement_id: its whole subtree"),
                .init("contract_id", .uuid, required: false, "one contract's"),
                .init("portfolio_id", .uuid, required: false, "the contracts of the portfolio's services' engagements"),
            ] + range,
            result: .object([
                .init("delivered", .boolean, "no commitment in scope lapsed"),
                .init("contracts", .array(items: .object([
                    .init("contract", .object([
                        .init("id", .uuid, "the contract"), .init("reference", .string(), "its reference"),
                        .init("title", .string(), "its title"), .init("status", .string(), "its status"),
                        .init("customer", .object([.init("id", .uuid, "the customer"), .init("name", .string(), "its name")]), "its customer"),
                    ]), "the contract"),
                    .init("delivered", .boolean, "none of its commitments lapsed"),
                    .init("by_status", .dictionary(values: .integer(minimum: 0)), "its commitments by overall status"),
                    .init("commitments", .array(items: commitment), "each with its fulfilment"),
                ])), "per contract"),
            ]),
            access: .role(.viewer), function: "api.report_commitments"),

        MethodDefinition("commercial.settings", summary: "The organisation's commercial settings: hours per FTE, the renewal window.",
            params: [], result: settings, access: .role(.viewer), function: "api.commercial_settings"),

        MethodDefinition("commercial.set_settings", summary: "Change the commercial settings (absent fields stay).",
            params: [
                .init("hours_per_fte", .number, required: false, "hours per FTE and month (0 < h ≤ 744)"),
                .init("renewal_window_days", .integer(minimum: 1, maximum: 730), required: false, "days before a contract's end"),
                .init("auto_renewal_opportunities", .boolean, required: false, "open the renewal opportunity automatically"),
            ],
            result: settings, access: .role(.manager), function: "api.commercial_set_settings"),
    ]
}

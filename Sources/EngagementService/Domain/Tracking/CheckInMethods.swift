import JSONRPC

/// Monthly check-ins: one engagement's finance lines, KPI values and capacity hours for one month. The database
/// decides what is accepted (active engagements; after completion the final check-in, once; months within the
/// engagement's dates; items valid for the engagement) and keeps every revision; these methods ask for it. The
/// work: `SQL/definitions/0141_api_check_ins.sql`.
enum CheckInMethods {
    static let all: [MethodDefinition] = [submit, amend, get, list, history] + CheckInBulkMethods.all

    /// A calendar month, YYYY-MM.
    static let period = Schema.string(minLength: 7, maxLength: 7, pattern: "(19|20)[0-9]{2}-(0[1-9]|1[0-2])")
    static let categories = ["revenue", "labour_cost", "licences", "third_party_cost", "expenses", "other_cost"]

    static let financeLine = Schema.object([
        .init("category", .enumeration(categories), "what the amount is"),
        .init("label", .string(maxLength: 200), required: false, "free text, e.g. the supplier"),
        .init("plan", .number, required: false, "planned amount (plan or actual is required)"),
        .init("actual", .number, required: false, "actual amount"),
        .init("currency", ContractMethods.currency, required: false, "ISO 4217; must be the contract's (the default) when there is one"),
        .init("deliverer_party_id", .uuid, required: false, "attribute to this delivery party of the engagement"),
    ])
    static let kpiValue = Schema.object([
        .init("kpi", .string(minLength: 1, maxLength: 100), "the KPI's name (a KPI of the engagement)"),
        .init("actual", .number, "the month's value"),
        .init("deliverer_party_id", .uuid, required: false, "attribute to this delivery party of the engagement"),
    ])
    static let capacityEntry = Schema.object([
        .init("role", .string(minLength: 1, maxLength: 100), "role or rate-card line (matched to contract rates)"),
        .init("person", .string(minLength: 1, maxLength: 200), required: false, "who, where known"),
        .init("planned_hours", .nonNegativeNumber, required: false, "planned hours (planned or actual is required)"),
        .init("actual_hours", .nonNegativeNumber, required: false, "hours worked"),
        .init("deliverer_party_id", .uuid, required: false, "attribute to this delivery party of the engagement"),
    ])
    /// The content of a check-in; on amendment a section given replaces that section, one left out is kept.
    static let contentFields: [Schema.Field] = [
        .init("notes", .string(maxLength: 10000), required: false, "free text"),
        .init("finance", .array(items: financeLine, maxItems: 200), required: false, "finance lines"),
        .init("kpis", .array(items: kpiValue, maxItems: 200), required: false, "KPI values"),
        .init("capacity", .array(items: capacityEntry, maxItems: 500), required: false, "capacity entries"),
    ]
    static let checkIn = Schema.object([
        .init("id", .uuid, "the check-in"), .init("engagement_id", .uuid, "its engagement"),
        .init("period", .string(), "the month, YYYY-MM"), .init("is_final", .boolean, "the check-in after completion"),
        .init("notes", .string(), "free text"),
        .init("finance", .array(items: .object([
            .init("category", .enumeration(categories), "what the amount is"), .init("label", .string(), "free text"),
            .init("plan", .nullable(.number), "planned"), .init("actual", .nullable(.number), "actual"),
            .init("variance", .nullable(.number), "actual − plan"), .init("currency", .string(), "ISO 4217"),
            .init("deliverer_party_id", .nullable(.uuid), "the item's own delivery party"),
            .init("attributed_party_id", .nullable(.uuid), "the party credited (own, attribution period, or default deliverer)"),
        ])), "finance lines, in the order given"),
        .init("kpis", .array(items: .object([
            .init("kpi_id", .uuid, "the KPI"), .init("kpi", .string(), "its name"), .init("unit", .string(), "its unit"),
            .init("target", .number, "its target"), .init("direction", .enumeration(KPIMethods.directions), "which way is good"),
            .init("actual", .number, "the month's value"), .init("deliverer_party_id", .nullable(.uuid), "the value's own party"),
            .init("attributed_party_id", .nullable(.uuid), "the party credited"),
        ])), "KPI values, by KPI name"),
        .init("capacity", .array(items: .object([
            .init("role", .string(), "role"), .init("person", .nullable(.string()), "who"),
            .init("planned_hours", .nullable(.number), "planned"), .init("actual_hours", .nullable(.number), "worked"),
            .init("deliverer_party_id", .nullable(.uuid), "the entry's own party"),
            .init("attributed_party_id", .nullable(.uuid), "the party credited"),
        ])), "capacity entries, in the order given"),
        .init("version", .integer(minimum: 1), "row version"),
        .init("created_at", .string(format: "date-time"), "first submitted"), .init("created_by", .nullable(.uuid), "by whom"),
        .init("updated_at", .string(format: "date-time"), "last written"), .init("updated_by", .nullable(.uuid), "by whom"),
    ])

    static let submit = MethodDefinition(
        "checkin.submit",
        summary: "Submit an engagement's check-in for a month (active engagements; once completed, only the final one).",
        params: [
            .init("engagement_id", .uuid, "the engagement"),
            .init("period", period, "the month, YYYY-MM, within the engagement's dates"),
        ] + contentFields + replaceFields + [DomainSupport.idempotencyField],
        result: checkIn, access: .role(.member),
        function: "api.checkin_submit")

    static let amend = MethodDefinition(
        "checkin.amend",
        summary: "Amend a check-in: the sections given replace the old ones; the previous content stays in its history.",
        params: [
            .init("id", .uuid, "the check-in"),
            .init("version", .integer(minimum: 1), "the version you last read"),
            .init("reason", .string(maxLength: 1000), required: false, "why, kept in the history"),
        ] + contentFields,
        result: checkIn, access: .role(.member),
        function: "api.checkin_amend")

    static let get = MethodDefinition(
        "checkin.get", summary: "One check-in, by id.",
        params: [.init("id", .uuid, "the check-in")], result: checkIn, access: .role(.viewer),
        function: "api.checkin_get")

    static let list = MethodDefinition(
        "checkin.list", summary: "Check-ins, filtered, sorted by month (default) or submission time, one page at a time.",
        params: [
            .init("engagement_id", .uuid, required: false, "only this engagement's"),
            .init("from", period, required: false, "from this month on"),
            .init("to", period, required: false, "up to this month"),
            .init("is_final", .boolean, required: false, "only final check-ins, or only others"),
            .init("sort", .enumeration(["period", "created_at"]), required: false, "sort key (default period)"),
        ] + DomainSupport.listFields.filter { $0.name != "sort" },
        result: DomainSupport.page(of: checkIn), access: .role(.viewer),
        function: "api.checkin_list")

    static let history = MethodDefinition(
        "checkin.history",
        summary: "Every revision of a check-in, oldest first: who, when, why, the content, and what changed per section.",
        params: [.init("id", .uuid, "the check-in")],
        result: .array(items: .object([
            .init("revision", .integer(minimum: 1), "1 for the first submission"), .init("written_by", .nullable(.uuid), "who"),
            .init("written_at", .string(format: "date-time"), "when"), .init("method", .string(), "the method, or sql"),
            .init("reason", .string(), "why"), .init("content", .any(description: "{notes, finance, kpis, capacity} as written"), "the content"),
            .init("changes", .dictionary(values: .object([
                .init("before", .any(description: "the section before"), "before"), .init("after", .any(description: "the section after"), "after"),
            ])), "per section that changed"),
        ])),
        access: .role(.viewer),
        function: "api.checkin_history")

    /// Resubmission of a month that exists.
    static let replaceFields: [Schema.Field] = [
        .init("replace", .boolean, required: false, "true: resubmit a month that exists (its whole content is replaced, as a new revision); default false: -32004 already_exists"),
        .init("reason", .string(maxLength: 1000), required: false, "why, kept in the history of a resubmission"),
    ]
}

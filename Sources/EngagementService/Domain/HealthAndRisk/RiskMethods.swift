import JSONRPC

/// Risk signals of engagements: raised by hand or by threshold rules (RiskRuleMethods), with severity derived
/// from probability × impact by the database. The work: `SQL/definitions/0160_api_risks.sql`; the matrix and the
/// rules: `0020_risk.sql`.
enum RiskMethods {
    static let all: [MethodDefinition] = [raise, get, update, resolve, list, summary]

    static let probabilities = ["very_low", "low", "medium", "high", "very_high"]
    static let impacts = ["low", "medium", "high", "critical"]
    static let severities = ["low", "medium", "high", "critical"]
    static let category = Schema.string(minLength: 1, maxLength: 50)
    static let statuses = ["open", "mitigating", "resolved", "dismissed"]
    static let signal = Schema.object([
        .init("id", .uuid, "the signal"), .init("engagement_id", .uuid, "its engagement"),
        .init("title", .string(), "what could go wrong"), .init("description", .string(), "details"),
        .init("category", .string(), "e.g. delivery"), .init("probability", .enumeration(probabilities), "how likely"),
        .init("impact", .enumeration(impacts), "how bad"), .init("severity", .enumeration(severities), "from the matrix"),
        .init("severity_score", .integer(minimum: 1, maximum: 20), "probability (1–5) × impact (1–4)"),
        .init("status", .enumeration(statuses), "where it stands"),
        .init("owner_user_id", .nullable(.uuid), "who handles it"), .init("due_date", .nullable(EngagementMethods.date), "by when"),
        .init("value_at_risk", .nullable(.number), "contract value at risk"), .init("currency", .nullable(.string()), "of the value"),
        .init("source", .enumeration(["manual", "rule"]), "raised by hand or by a rule"),
        .init("rule_id", .nullable(.uuid), "the rule that raised it"), .init("resolution", .string(), "how it was closed"),
        .init("resolved_at", .nullable(.string(format: "date-time")), "when it was closed"),
        .init("version", .integer(minimum: 1), "row version"),
        .init("created_at", .string(format: "date-time"), "raised"), .init("created_by", .nullable(.uuid), "by whom"),
        .init("updated_at", .string(format: "date-time"), "last changed"), .init("updated_by", .nullable(.uuid), "by whom"),
    ])

    static let raise = MethodDefinition(
        "risk.raise", summary: "Raise a risk signal on an engagement by hand.",
        params: [
            .init("engagement_id", .uuid, "the engagement"),
            .init("title", .string(minLength: 1, maxLength: 200), "what could go wrong"),
            .init("probability", .enumeration(probabilities), "how likely"),
            .init("impact", .enumeration(impacts), "how bad"),
            .init("category", category, required: false, "e.g. delivery, financial, commercial (default delivery)"),
            .init("description", .string(maxLength: 4000), required: false, "details"),
            .init("owner_user_id", .uuid, required: false, "who handles it"),
            .init("due_date", EngagementMethods.date, required: false, "by when, YYYY-MM-DD"),
            .init("value_at_risk", .nonNegativeNumber, required: false, "contract value at risk"),
            .init("currency", ContractMethods.currency, required: false, "of value_at_risk; default the contract's"),
            DomainSupport.idempotencyField,
        ],
        result: signal, access: .role(.member),
        function: "api.risk_raise")

    static let get = MethodDefinition(
        "risk.get", summary: "One risk signal by id.", params: [.init("id", .uuid, "the signal")], result: signal,
        access: .role(.viewer),
        function: "api.risk_get")

    static let update = MethodDefinition(
        "risk.update", summary: "Change a signal's details or move it between open and mitigating; fields left out keep their value.",
        params: [
            .init("id", .uuid, "the signal"),
            .init("version", .integer(minimum: 1), "the version you last read"),
            .init("title", .string(minLength: 1, maxLength: 200), required: false, "new title"),
            .init("description", .string(maxLength: 4000), required: false, "new description"),
            .init("category", category, required: false, "new category"),
            .init("probability", .enumeration(probabilities), required: false, "new probability"),
            .init("impact", .enumeration(impacts), required: false, "new impact"),
            .init("status", .enumeration(["open", "mitigating"]), required: false, "open or mitigating (reopens a closed one)"),
            .init("owner_user_id", .nullable(.uuid), required: false, "new owner; null clears"),
            .init("due_date", .nullable(EngagementMethods.date), required: false, "new due date; null clears"),
            .init("value_at_risk", .nullable(.nonNegativeNumber), required: false, "new value; null clears"),
            .init("currency", ContractMethods.currency, required: false, "of value_at_risk"),
        ],
        result: signal, access: .role(.member),
        function: "api.risk_update")

    static let resolve = MethodDefinition(
        "risk.resolve", summary: "Close a signal as resolved or dismissed, with a note.",
        params: [
            .init("id", .uuid, "the signal"),
            .init("version", .integer(minimum: 1), "the version you last read"),
            .init("status", .enumeration(["resolved", "dismissed"]), required: false, "default resolved"),
            .init("resolution", .string(maxLength: 4000), required: false, "how, or why not"),
        ],
        result: signal, access: .role(.member),
        function: "api.risk_resolve")

    static let list = MethodDefinition(
        "risk.list", summary: "Risk signals, filtered, by creation time by default (sort created_at or name = title; order desc for newest first).",
        params: [
            .init("engagement_id", .uuid, required: false, "only this engagement's"),
            .init("status", .enumeration(["open", "mitigating", "resolved", "dismissed"]), required: false, "only this status"),
            .init("severity", .enumeration(severities), required: false, "only this severity"),
            .init("probability", .enumeration(probabilities), required: false, "only this probability"),
            .init("category", category, required: false, "only this category"),
            .init("source", .enumeration(["manual", "rule"]), required: false, "only manual or rule-raised"),
        ] + DomainSupport.listFields,
        result: DomainSupport.page(of: signal), access: .role(.viewer),
        function: "api.risk_list")

    static let summary = MethodDefinition(
        "risk.summary",
        summary: "An engagement's risks at a glance: counts by status, open ones by severity and probability, open value at risk per currency, the top five open.",
        params: [.init("engagement_id", .uuid, "the engagement")],
        result: .object([
            .init("engagement_id", .uuid, "the engagement"),
            .init("by_status", .dictionary(values: .integer(minimum: 0)), "signals by status"),
            .init("open_by_severity", .dictionary(values: .integer(minimum: 0)), "open signals by severity"),
            .init("open_by_probability", .dictionary(values: .integer(minimum: 0)), "open signals by probability"),
            .init("open_value_at_risk", .array(items: .object([
                .init("currency", .string(), "ISO 4217"), .init("amount", .number, "open value at risk"),
            ])), "per currency"),
            .init("top_open", .array(items: signal), "the five most severe open signals"),
        ]),
        access: .role(.viewer),
        function: "api.risk_summary")
}

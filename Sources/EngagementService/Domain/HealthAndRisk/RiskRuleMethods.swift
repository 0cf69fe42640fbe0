import JSONRPC

/// Threshold rules: a condition over an engagement's latest data that raises a risk signal when it starts to
/// hold and resolves it when it stops (one open signal per rule and engagement). Evaluated by the database on
/// check-ins, status and model changes and rule changes, and by the server's periodic sweep for time-driven ones.
/// The work: `SQL/definitions/0160_api_risks.sql`; evaluation: `0020_risk.sql`.
enum RiskRuleMethods {
    static let all: [MethodDefinition] = [create, get, update, delete, list]

    static let conditions = ["kpi", "health_score", "health_band", "finance_variance", "freshness_days"]
        + ProductAdoptionMethods.measures
    static let comparisons = ["<", "<=", ">", ">="]
    static let rule = Schema.object([
        .init("id", .uuid, "the rule"), .init("name", .string(), "unique per organisation"),
        .init("condition", .enumeration(conditions), "what is observed"), .init("kpi", .nullable(.string()), "the KPI (condition kpi)"),
        .init("product", .nullable(.string()), "the product of an adoption condition (null: mean over products)"),
        .init("capability", .nullable(.string()), "the capability (condition capability_usage)"),
        .init("comparison", .nullable(.enumeration(comparisons)), "breached when observed <comparison> threshold"),
        .init("threshold", .nullable(.number), "the threshold"), .init("band", .nullable(.enumeration(["red", "amber"])), "health_band"),
        .init("title", .string(), "title of the signals it raises"), .init("category", .string(), "of raised signals"),
        .init("probability", .enumeration(RiskMethods.probabilities), "of raised signals"),
        .init("impact", .enumeration(RiskMethods.impacts), "of raised signals"), .init("enabled", .boolean, "evaluated"),
        .init("version", .integer(minimum: 1), "row version"),
        .init("created_at", .string(format: "date-time"), "created"), .init("updated_at", .string(format: "date-time"), "last changed"),
    ])

    static let definition: [Schema.Field] = [
        .init("kpi", .string(minLength: 1, maxLength: 100), required: false, "the KPI's name (condition kpi only; a KPI some engagement or template has)"),
        .init("product", .string(minLength: 1, maxLength: 200), required: false,
              "an adoption condition's product (required for capability_usage; else the mean over products)"),
        .init("capability", .string(minLength: 1, maxLength: 200), required: false, "the capability (condition capability_usage only)"),
        .init("comparison", .enumeration(comparisons), required: false, "breached when observed <comparison> threshold (all but health_band)"),
        .init("threshold", .number, required: false, "the threshold (all but health_band)"),
        .init("band", .enumeration(["red", "amber"]), required: false, "health_band: breached at this band or worse"),
        .init("category", RiskMethods.category, required: false, "of raised signals (default delivery)"),
        .init("probability", .enumeration(RiskMethods.probabilities), required: false, "of raised signals (default high)"),
        .init("impact", .enumeration(RiskMethods.impacts), required: false, "of raised signals (default medium)"),
        .init("enabled", .boolean, required: false, "disabled rules are not evaluated (default true)"),
    ]

    static let create = MethodDefinition(
        "risk_rule.create", summary: "Define a threshold rule; it is evaluated for every active and on-hold engagement at once.",
        params: [
            .init("name", .string(minLength: 1, maxLength: 200), "unique per organisation"),
            .init("condition", .enumeration(conditions), "what is observed (see docs)"),
            .init("title", .string(minLength: 1, maxLength: 200), "title of the signals it raises"),
        ] + definition + [DomainSupport.idempotencyField],
        result: rule, access: .role(.manager),
        function: "api.risk_rule_create")

    static let get = MethodDefinition(
        "risk_rule.get", summary: "One rule by id.", params: [.init("id", .uuid, "the rule")], result: rule, access: .role(.viewer),
        function: "api.risk_rule_get")

    static let update = MethodDefinition(
        "risk_rule.update",
        summary: "Change a rule; a new condition is evaluated afresh (its open signals resolve where it no longer holds).",
        params: [
            .init("id", .uuid, "the rule"),
            .init("version", .integer(minimum: 1), "the version you last read"),
            .init("name", .string(minLength: 1, maxLength: 200), required: false, "new name"),
            .init("condition", .enumeration(conditions), required: false, "new condition"),
            .init("title", .string(minLength: 1, maxLength: 200), required: false, "new title"),
        ] + definition,
        result: rule, access: .role(.manager),
        function: "api.risk_rule_update")

    static let delete = MethodDefinition(
        "risk_rule.delete", summary: "Delete a rule; the signals it raised stay (without the link).",
        params: [.init("id", .uuid, "the rule"), .init("version", .integer(minimum: 1), "the version you last read")],
        result: DomainSupport.deleted, access: .role(.manager),
        function: "api.risk_rule_delete")

    static let list = MethodDefinition(
        "risk_rule.list", summary: "Rules, one page at a time.",
        params: [.init("condition", .enumeration(conditions), required: false, "only this condition")] + DomainSupport.listFields,
        result: DomainSupport.page(of: rule), access: .role(.viewer),
        function: "api.risk_rule_list")
}

import JSONRPC
import PostgresClient

/// Threshold rules: a condition over an engagement's latest data that raises a risk signal when it starts to
/// hold and resolves it when it stops (one open signal per rule and engagement). Evaluated by the database on
/// check-ins, status and model changes and rule changes, and by the server's periodic sweep for time-driven ones.
enum RiskRuleMethods {
    static let all: [MethodDefinition] = [create, get, update, delete, list]

    static let rule = Schema.any(description: """
        a risk rule: {id, name, condition, kpi, comparison, threshold, band, title, category, probability, impact, \
        enabled, version, created_at, updated_at}
        """)
    static let conditions = ["kpi", "health_score", "health_band", "finance_variance", "freshness_days"]
    static let comparisons = ["<", "<=", ">", ">="]
    static let references = ["risk_rules_name_unique": "params.name"]

    static let definition: [Schema.Field] = [
        .init("kpi", .string(minLength: 1, maxLength: 100), required: false, "the KPI's name (condition kpi only; a KPI some engagement or template has)"),
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
        result: rule, access: .role(.manager)
    ) { context, params throws(RPCError) in
        try await context.jsonOfLast(
            DomainSQL.idempotentCreate(
                table: "risk_rules", method: "risk_rule.create",
                columns: ["name", "condition", "title", "kpi", "comparison", "threshold", "band", "category", "probability",
                          "impact", "enabled"],
                values: ["btrim($4)", "$5", "btrim($6)", "btrim($7)", "$8", "$9::numeric", "$10", "coalesce(btrim($11), 'delivery')",
                         "coalesce($12, 'high')", "coalesce($13, 'medium')", "coalesce($14::boolean, true)"],
                render: "risk_rule_json", params: params,
                parameters: [params.string("name"), params.string("condition"), params.string("title"), params.string("kpi"),
                             params.string("comparison"), DomainSupport.number(params, "threshold"), params.string("band"),
                             params.string("category"), params.string("probability"), params.string("impact"),
                             params.bool("enabled")]),
            references: references)
    }

    static let get = MethodDefinition(
        "risk_rule.get", summary: "One rule by id.", params: [.init("id", .uuid, "the rule")], result: rule, access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(DomainSQL.get(table: "risk_rules", render: "risk_rule_json"), [params.string("id")]))
    }

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
        result: rule, access: .role(.manager)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let result = try await context.run([Statement(
            DomainSQL.versionedUpdate(
                table: "risk_rules",
                assignments: [
                    "name = coalesce(btrim($3), row.name)", "condition = coalesce($4, row.condition)",
                    "title = coalesce(btrim($5), row.title)", "kpi = CASE WHEN $4 IS NOT NULL AND $4 <> 'kpi' THEN NULL ELSE coalesce(btrim($6), row.kpi) END",
                    "comparison = coalesce($7, row.comparison)", "threshold = coalesce($8::numeric, row.threshold)",
                    "band = coalesce($9, row.band)", "category = coalesce(btrim($10), row.category)",
                    "probability = coalesce($11, row.probability)", "impact = coalesce($12, row.impact)",
                    "enabled = coalesce($13::boolean, row.enabled)",
                ],
                render: "risk_rule_json"),
            [params.string("id"), version, params.string("name"), params.string("condition"), params.string("title"),
             params.string("kpi"), params.string("comparison"), DomainSupport.number(params, "threshold"), params.string("band"),
             params.string("category"), params.string("probability"), params.string("impact"), params.bool("enabled")])],
            references: references)[0]
        return try DomainSupport.versionedWrite(result, requestedVersion: version)
    }

    static let delete = MethodDefinition(
        "risk_rule.delete", summary: "Delete a rule; the signals it raised stay (without the link).",
        params: [.init("id", .uuid, "the rule"), .init("version", .integer(minimum: 1), "the version you last read")],
        result: .any(description: "{id, deleted: true}"), access: .role(.manager)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let result = try await context.run([Statement(DomainSQL.versionedDelete(table: "risk_rules"), [params.string("id"), version])])[0]
        return try DomainSupport.versionedWrite(result, requestedVersion: version)
    }

    static let list = MethodDefinition(
        "risk_rule.list", summary: "Rules, one page at a time.",
        params: [.init("condition", .enumeration(conditions), required: false, "only this condition")] + DomainSupport.listFields,
        result: .any(description: "{items: [rule], next_cursor: string or null}"), access: .role(.viewer)
    ) { context, params throws(RPCError) in
        let page = try DomainSupport.page(params)
        return try await context.json(Statement(
            DomainSQL.list(
                table: "risk_rules", render: "risk_rule_json", filters: ["($1::text IS NULL OR row.condition = $1)"],
                filterParameters: 1, page: page),
            [params.string("condition"), page.after?.key, page.after?.id, page.limit]))
    }
}

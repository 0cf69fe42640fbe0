import JSONRPC
import PostgresClient

/// Risk signals of engagements: raised by hand or by threshold rules (RiskRuleMethods), with severity derived
/// from probability × impact by the database (matrix in migration 0020).
enum RiskMethods {
    static let all: [MethodDefinition] = [raise, get, update, resolve, list, summary]

    static let signal = Schema.any(description: """
        a risk signal: {id, engagement_id, title, description, category, probability, impact, severity, \
        severity_score, status, owner_user_id, due_date, value_at_risk, currency, source: manual | rule, rule_id, \
        resolution, resolved_at, version, created_at, created_by, updated_at, updated_by}
        """)
    static let probabilities = ["very_low", "low", "medium", "high", "very_high"]
    static let impacts = ["low", "medium", "high", "critical"]
    static let severities = ["low", "medium", "high", "critical"]
    static let category = Schema.string(minLength: 1, maxLength: 50)
    static let references = [
        "risk_signals_engagement_fk": "params.engagement_id",
        "risk_signals_owner_fk": "params.owner_user_id",
        "risk_signals_value_currency": "params.currency",
    ]

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
        result: signal, access: .role(.member)
    ) { context, params throws(RPCError) in
        try await context.jsonOfLast(
            DomainSQL.idempotentCreate(
                table: "risk_signals", method: "risk.raise",
                columns: ["engagement_id", "title", "probability", "impact", "category", "description", "owner_user_id",
                          "due_date", "value_at_risk", "currency"],
                values: ["$4::uuid", "btrim($5)", "$6", "$7", "coalesce(btrim($8), 'delivery')", "coalesce($9, '')", "$10::uuid",
                         "$11::date", "$12::numeric", "$13"],
                render: "risk_signal_json", params: params,
                parameters: [params.string("engagement_id"), params.string("title"), params.string("probability"),
                             params.string("impact"), params.string("category"), params.string("description"),
                             params.string("owner_user_id"), params.string("due_date"),
                             DomainSupport.number(params, "value_at_risk"), params.string("currency")]),
            references: references)
    }

    static let get = MethodDefinition(
        "risk.get", summary: "One risk signal by id.", params: [.init("id", .uuid, "the signal")], result: signal,
        access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(DomainSQL.get(table: "risk_signals", render: "risk_signal_json"), [params.string("id")]))
    }

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
        result: signal, access: .role(.member)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let result = try await context.run([Statement(
            DomainSQL.versionedUpdate(
                table: "risk_signals",
                assignments: [
                    "title = coalesce(btrim($3), row.title)", "description = coalesce($4, row.description)",
                    "category = coalesce(btrim($5), row.category)", "probability = coalesce($6, row.probability)",
                    "impact = coalesce($7, row.impact)", "status = coalesce($8, row.status)",
                    DomainSQL.settable("owner_user_id", flag: 9, cast: "uuid"), DomainSQL.settable("due_date", flag: 11, cast: "date"),
                    DomainSQL.settable("value_at_risk", flag: 13, cast: "numeric"), "currency = coalesce($15, row.currency)",
                ],
                render: "risk_signal_json"),
            [params.string("id"), version, params.string("title"), params.string("description"), params.string("category"),
             params.string("probability"), params.string("impact"), params.string("status"),
             params.value("owner_user_id") != nil, params.string("owner_user_id"),
             params.value("due_date") != nil, params.string("due_date"),
             params.value("value_at_risk") != nil, DomainSupport.number(params, "value_at_risk"), params.string("currency")])],
            references: references)[0]
        return try DomainSupport.versionedWrite(result, requestedVersion: version)
    }

    static let resolve = MethodDefinition(
        "risk.resolve", summary: "Close a signal as resolved or dismissed, with a note.",
        params: [
            .init("id", .uuid, "the signal"),
            .init("version", .integer(minimum: 1), "the version you last read"),
            .init("status", .enumeration(["resolved", "dismissed"]), required: false, "default resolved"),
            .init("resolution", .string(maxLength: 4000), required: false, "how, or why not"),
        ],
        result: signal, access: .role(.member)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let result = try await context.run([Statement(
            DomainSQL.versionedUpdate(
                table: "risk_signals",
                assignments: ["status = coalesce($3, 'resolved')", "resolution = coalesce($4, row.resolution)"],
                render: "risk_signal_json"),
            [params.string("id"), version, params.string("status"), params.string("resolution")])])[0]
        return try DomainSupport.versionedWrite(result, requestedVersion: version)
    }

    static let list = MethodDefinition(
        "risk.list", summary: "Risk signals, filtered, newest first by default (sort created_at or name = title).",
        params: [
            .init("engagement_id", .uuid, required: false, "only this engagement's"),
            .init("status", .enumeration(["open", "mitigating", "resolved", "dismissed"]), required: false, "only this status"),
            .init("severity", .enumeration(severities), required: false, "only this severity"),
            .init("probability", .enumeration(probabilities), required: false, "only this probability"),
            .init("category", category, required: false, "only this category"),
            .init("source", .enumeration(["manual", "rule"]), required: false, "only manual or rule-raised"),
        ] + DomainSupport.listFields,
        result: .any(description: "{items: [signal], next_cursor: string or null}"), access: .role(.viewer)
    ) { context, params throws(RPCError) in
        let page = try DomainSupport.page(params, defaultSort: "created_at")
        return try await context.json(Statement(
            DomainSQL.list(
                table: "risk_signals", render: "risk_signal_json",
                filters: [
                    "($1::uuid IS NULL OR row.engagement_id = $1::uuid)", "($2::text IS NULL OR row.status = $2)",
                    "($3::text IS NULL OR row.severity = $3)", "($4::text IS NULL OR row.probability = $4)",
                    "($5::text IS NULL OR lower(row.category) = lower(btrim($5)))", "($6::text IS NULL OR row.source = $6)",
                ],
                filterParameters: 6, page: page, sortColumns: ["name": "title"]),
            [params.string("engagement_id"), params.string("status"), params.string("severity"), params.string("probability"),
             params.string("category"), params.string("source"), page.after?.key, page.after?.id, page.limit]))
    }

    static let summary = MethodDefinition(
        "risk.summary",
        summary: "An engagement's risks at a glance: counts by status, open ones by severity and probability, open value at risk per currency, the top five open.",
        params: [.init("engagement_id", .uuid, "the engagement")],
        result: .any(description: "{engagement_id, by_status, open_by_severity, open_by_probability, open_value_at_risk: [{currency, amount}], top_open: [signal]}"),
        access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement("SELECT app.risk_summary($1::uuid)", [params.string("engagement_id")]))
    }
}

import JSONRPC
import PostgresClient

/// Health models: weighted metrics, each normalised to 0–100, with bands and freshness decay. Written by
/// managers; every organisation has a default model ("Standard") that engagements use unless their template or
/// they themselves pick another. The arithmetic lives in the database (migrations 0018 and 0019).
enum HealthModelMethods {
    static let all: [MethodDefinition] = [create, get, update, delete, list, assignToEngagement, assignToTemplate]

    static let model = Schema.any(description: """
        a health model: {id, name, is_default, metrics: [{metric, kpi, weight, full_at, zero_at}], grace_days, \
        decay_points_per_30_days, red_below, amber_below, version, created_at, updated_at}
        """)
    static let metric = Schema.object([
        .init("metric", .enumeration(["kpi_attainment", "kpi", "budget_variance", "capacity_utilisation", "checkin_freshness"]), "what is measured"),
        .init("kpi", .string(minLength: 1, maxLength: 100), required: false, "the KPI's name (metric kpi only)"),
        .init("weight", .nonNegativeNumber, "relative weight; weights are normalised over the metrics with data"),
        .init("full_at", .number, required: false, "the value that scores 100 (default per metric, see docs)"),
        .init("zero_at", .number, required: false, "the value that scores 0"),
    ])
    static let settings: [Schema.Field] = [
        .init("grace_days", .integer(minimum: 0, maximum: 366), required: false, "active days after a month's end before decay starts (default 45)"),
        .init("decay_points_per_30_days", .numberInRange(minimum: 0, maximum: 100), required: false, "points lost per 30 overdue active days (default 10)"),
        .init("red_below", .numberInRange(minimum: 0, maximum: 100), required: false, "scores below are red (default 40)"),
        .init("amber_below", .numberInRange(minimum: 0, maximum: 100), required: false, "scores below are amber, others green (default 70)"),
    ]
    static let references = [
        "health_models_name_unique": "params.name",
        "health_models_bands": "params.amber_below",
        "engagements_health_model_fk": "params.model_id",
        "templates_health_model_fk": "params.model_id",
    ]

    static let create = MethodDefinition(
        "health_model.create", summary: "Define a health model (use health_model.update with is_default to make it the default).",
        params: [
            .init("name", .string(minLength: 1, maxLength: 200), "unique per organisation"),
            .init("metrics", .array(items: metric, maxItems: 20), "the weighted metrics; weights must not sum to zero"),
        ] + settings + [DomainSupport.idempotencyField],
        result: model, access: .role(.manager)
    ) { context, params throws(RPCError) in
        try await context.jsonOfLast(
            DomainSQL.idempotentCreate(
                table: "health_models", method: "health_model.create",
                columns: ["name", "metrics", "grace_days", "decay_points_per_30_days", "red_below", "amber_below"],
                values: ["btrim($4)", "$5::jsonb", "coalesce($6::integer, 45)", "coalesce($7::numeric, 10)",
                         "coalesce($8::numeric, 40)", "coalesce($9::numeric, 70)"],
                render: "health_model_json", params: params,
                parameters: [params.string("name"), params.value("metrics").map(JSONWriter.string), params.int("grace_days"),
                             DomainSupport.number(params, "decay_points_per_30_days"), DomainSupport.number(params, "red_below"),
                             DomainSupport.number(params, "amber_below")]),
            references: references)
    }

    static let get = MethodDefinition(
        "health_model.get", summary: "One health model by id.",
        params: [.init("id", .uuid, "the model")], result: model, access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(DomainSQL.get(table: "health_models", render: "health_model_json"), [params.string("id")]))
    }

    static let update = MethodDefinition(
        "health_model.update",
        summary: "Change a model (scores of the engagements using it are recomputed); is_default: true makes it the organisation's default.",
        params: [
            .init("id", .uuid, "the model"),
            .init("version", .integer(minimum: 1), "the version you last read"),
            .init("name", .string(minLength: 1, maxLength: 200), required: false, "new name"),
            .init("metrics", .array(items: metric, maxItems: 20), required: false, "replaces the metrics"),
            .init("is_default", .boolean, required: false, "true: the default from now on (false changes nothing)"),
        ] + settings,
        result: model, access: .role(.manager)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let makeDefault = params.bool("is_default") == true
        let results = try await context.run([
            // The previous default steps down first (one default per organisation), only if this write can happen.
            Statement(
                """
                UPDATE app.health_models SET is_default = false
                WHERE organisation_id = app.current_organisation_id() AND is_default AND id <> $1::uuid AND $3::boolean
                  AND EXISTS (SELECT FROM app.health_models WHERE organisation_id = app.current_organisation_id()
                              AND id = $1::uuid AND version = $2)
                """, [params.string("id"), version, makeDefault]),
            Statement(
                DomainSQL.versionedUpdate(
                    table: "health_models",
                    assignments: [
                        "name = coalesce(btrim($3), row.name)", "metrics = coalesce($4::jsonb, row.metrics)",
                        "grace_days = coalesce($5::integer, row.grace_days)",
                        "decay_points_per_30_days = coalesce($6::numeric, row.decay_points_per_30_days)",
                        "red_below = coalesce($7::numeric, row.red_below)", "amber_below = coalesce($8::numeric, row.amber_below)",
                        "is_default = row.is_default OR $9::boolean",
                    ],
                    render: "health_model_json"),
                [params.string("id"), version, params.string("name"), params.value("metrics").map(JSONWriter.string),
                 params.int("grace_days"), DomainSupport.number(params, "decay_points_per_30_days"),
                 DomainSupport.number(params, "red_below"), DomainSupport.number(params, "amber_below"), makeDefault]),
        ], references: references)
        return try DomainSupport.versionedWrite(results[1], requestedVersion: version)
    }

    static let delete = MethodDefinition(
        "health_model.delete",
        summary: "Delete a model no template or engagement uses (-32004 in_use); the default cannot be deleted (-32007).",
        params: [.init("id", .uuid, "the model"), .init("version", .integer(minimum: 1), "the version you last read")],
        result: .any(description: "{id, deleted: true}"), access: .role(.manager)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let result = try await context.run([Statement(DomainSQL.versionedDelete(table: "health_models"), [params.string("id"), version])])[0]
        return try DomainSupport.versionedWrite(result, requestedVersion: version)
    }

    static let list = MethodDefinition(
        "health_model.list", summary: "Health models, one page at a time.",
        params: [.init("q", .string(minLength: 1, maxLength: 200), required: false, "text in the name")] + DomainSupport.listFields,
        result: .any(description: "{items: [model], next_cursor: string or null}"), access: .role(.viewer)
    ) { context, params throws(RPCError) in
        let page = try DomainSupport.page(params)
        return try await context.json(Statement(
            DomainSQL.list(
                table: "health_models", render: "health_model_json", filters: ["($1::text IS NULL OR row.name ILIKE $1)"],
                filterParameters: 1, page: page),
            [params.string("q").map(DomainSupport.containsPattern), page.after?.key, page.after?.id, page.limit]))
    }

    static let assignToEngagement = MethodDefinition(
        "engagement.set_health_model",
        summary: "Score an engagement with this model (null: its template's, else the default); its months are recomputed.",
        params: [.init("id", .uuid, "the engagement"), .init("model_id", .nullable(.uuid), "the model, or null")],
        result: .any(description: "{id, health_model_id, effective_model: {id, name}}"), access: .role(.member)
    ) { context, params throws(RPCError) in
        try await assign(context, params, table: "engagements")
    }

    static let assignToTemplate = MethodDefinition(
        "template.set_health_model",
        summary: "Score the template's engagements (those without a model of their own) with this model; null: the default.",
        params: [.init("id", .uuid, "the template"), .init("model_id", .nullable(.uuid), "the model, or null")],
        result: .any(description: "{id, health_model_id}"), access: .role(.manager)
    ) { context, params throws(RPCError) in
        try await assign(context, params, table: "engagement_templates")
    }

    private static func assign(_ context: CallContext, _ params: ParamReader, table: String) async throws(RPCError) -> ResponseBody {
        let effective = table == "engagements"
            ? ", 'effective_model', (SELECT jsonb_build_object('id', m.id, 'name', m.name) FROM app.effective_health_model(row.organisation_id, row.id) m)"
            : ""
        return try await context.jsonOfLast([
            Statement(
                """
                UPDATE app.\(table) row SET health_model_id = $2::uuid
                WHERE row.organisation_id = app.current_organisation_id() AND row.id = $1::uuid
                """, [params.string("id"), params.string("model_id")]),
            Statement(
                """
                SELECT jsonb_build_object('id', row.id, 'health_model_id', row.health_model_id\(effective))
                FROM app.\(table) row WHERE row.organisation_id = app.current_organisation_id() AND row.id = $1::uuid
                """, [params.string("id")]),
        ], references: references)
    }
}

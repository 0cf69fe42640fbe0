import JSONRPC
import PostgresClient

/// Engagement templates: which service they apply to, default KPIs and check-in cadence. An engagement needs
/// one before it can be activated. Read by every role, written by managers and admins.
enum TemplateMethods {
    static let template = Schema.any(
        description: "a template: {id, service_id, name, default_kpis, checkin_cadence, archived, version, created_at, updated_at}")
    static let kpis = Schema.array(
        items: .object([
            .init("name", .string(minLength: 1, maxLength: 100), "KPI name"),
            .init("unit", .string(maxLength: 40), required: false, "unit, e.g. % or hours"),
            .init("target", .number, "target value"),
            .init("direction", .enumeration(["higher_is_better", "lower_is_better"]), "which way is good"),
        ]),
        maxItems: 50)
    static let cadence = Schema.enumeration(["monthly", "quarterly"])
    static let references = ["templates_service_fk": "params.service_id"]

    static let all: [MethodDefinition] = [create, get, update, delete, list]

    static let create = MethodDefinition(
        "template.create", summary: "Create an engagement template for a service.",
        params: [
            .init("service_id", .uuid, "the service it applies to"),
            .init("name", .string(minLength: 1, maxLength: 200), "display name"),
            .init("default_kpis", kpis, required: false, "KPIs engagements start with"),
            .init("checkin_cadence", cadence, required: false, "monthly (default) or quarterly"),
            DomainSupport.idempotencyField,
        ],
        result: template, access: .role(.manager)
    ) { context, params throws(RPCError) in
        try await context.jsonOfLast(
            DomainSQL.idempotentCreate(
                table: "engagement_templates", method: "template.create",
                columns: ["service_id", "name", "default_kpis", "checkin_cadence"],
                values: ["$4::uuid", "btrim($5)", "coalesce($6::jsonb, '[]')", "coalesce($7, 'monthly')"],
                render: "template_json", params: params,
                parameters: [params.string("service_id"), params.string("name"),
                             params.value("default_kpis").map(JSONWriter.string), params.string("checkin_cadence")]),
            references: references)
    }

    static let get = MethodDefinition(
        "template.get", summary: "One template by id.",
        params: [.init("id", .uuid, "the template")], result: template, access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(
            Statement(DomainSQL.get(table: "engagement_templates", render: "template_json"), [params.string("id")]))
    }

    static let update = MethodDefinition(
        "template.update", summary: "Change a template; send the version you read. archived: true archives it.",
        params: [
            .init("id", .uuid, "the template"),
            .init("version", .integer(minimum: 1), "the version you last read"),
            .init("service_id", .uuid, required: false, "another service"),
            .init("name", .string(minLength: 1, maxLength: 200), required: false, "new name"),
            .init("default_kpis", kpis, required: false, "replaces the default KPIs"),
            .init("checkin_cadence", cadence, required: false, "new cadence"),
            .init("archived", .boolean, required: false, "archive (true) or restore (false)"),
        ],
        result: template, access: .role(.manager)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let result = try await context.run(
            [Statement(
                DomainSQL.versionedUpdate(
                    table: "engagement_templates",
                    assignments: [
                        "service_id = coalesce($3::uuid, row.service_id)",
                        "name = coalesce(btrim($4), row.name)",
                        "default_kpis = coalesce($5::jsonb, row.default_kpis)",
                        "checkin_cadence = coalesce($6, row.checkin_cadence)",
                        DomainSQL.toggledTimestamp("archived_at", parameter: 7),
                    ],
                    render: "template_json"),
                [params.string("id"), version, params.string("service_id"), params.string("name"),
                 params.value("default_kpis").map(JSONWriter.string), params.string("checkin_cadence"), params.bool("archived")])],
            references: references)[0]
        return try DomainSupport.versionedWrite(result, requestedVersion: version)
    }

    static let delete = MethodDefinition(
        "template.delete", summary: "Delete a template no engagement uses (otherwise -32004 in_use: archive it).",
        params: [.init("id", .uuid, "the template"), .init("version", .integer(minimum: 1), "the version you last read")],
        result: .any(description: "{id, deleted: true}"), access: .role(.manager)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let result = try await context.run(
            [Statement(DomainSQL.versionedDelete(table: "engagement_templates"), [params.string("id"), version])])[0]
        return try DomainSupport.versionedWrite(result, requestedVersion: version)
    }

    static let list = MethodDefinition(
        "template.list", summary: "Templates, filtered and sorted, one page at a time.",
        params: [
            .init("service_id", .uuid, required: false, "only templates of this service"),
            .init("q", .string(minLength: 1, maxLength: 200), required: false, "text in the name"),
            .init("include_archived", .boolean, required: false, "also archived templates (default false)"),
        ] + DomainSupport.listFields,
        result: .any(description: "{items: [template], next_cursor: string or null}"), access: .role(.viewer)
    ) { context, params throws(RPCError) in
        let page = try DomainSupport.page(params)
        return try await context.json(Statement(
            DomainSQL.list(
                table: "engagement_templates", render: "template_json",
                filters: [
                    "($1::uuid IS NULL OR row.service_id = $1::uuid)",
                    "($2::text IS NULL OR row.name ILIKE $2)",
                    "($3::boolean OR row.archived_at IS NULL)",
                ],
                filterParameters: 3, page: page),
            [params.string("service_id"), params.string("q").map(DomainSupport.containsPattern),
             params.bool("include_archived") ?? false, page.after?.key, page.after?.id, page.limit]))
    }
}

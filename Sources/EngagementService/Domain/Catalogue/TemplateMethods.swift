import JSONRPC

/// Engagement templates: which service they apply to, default KPIs and check-in cadence. An engagement needs
/// one before it can be activated. Read by every role, written by managers and admins. The work:
/// `SQL/definitions/0113_api_templates.sql`.
enum TemplateMethods {
    static let template = Schema.object([
        .init("id", .uuid, "the template"),
        .init("service_id", .uuid, "the service it applies to"),
        .init("name", .string(), "display name"),
        .init("default_kpis", kpis, "KPIs engagements start with"),
        .init("checkin_cadence", cadence, "how often check-ins are expected"),
        .init("archived", .boolean, "archived templates are hidden from lists unless asked for"),
        .init("version", .integer(minimum: 1), "row version, for optimistic concurrency"),
        .init("created_at", .string(format: "date-time"), "created"),
        .init("updated_at", .string(format: "date-time"), "last changed"),
    ])
    static let kpis = Schema.array(
        items: .object([
            .init("name", .string(minLength: 1, maxLength: 100), "KPI name"),
            .init("unit", .string(maxLength: 40), required: false, "unit, e.g. % or hours"),
            .init("target", .number, "target value"),
            .init("direction", .enumeration(["higher_is_better", "lower_is_better"]), "which way is good"),
        ]),
        maxItems: 50)
    static let cadence = Schema.enumeration(["monthly", "quarterly"])
    static let columns: [Schema.Field] = [
        .init("name", .string(minLength: 1, maxLength: 200), "display name"),
        .init("default_kpis", kpis, required: false, "KPIs engagements start with"),
        .init("checkin_cadence", cadence, required: false, "monthly (default) or quarterly"),
    ]

    static let all: [MethodDefinition] = [
        MethodDefinition("template.create", summary: "Create an engagement template for a service.",
            params: [.init("service_id", .uuid, "the service it applies to")] + columns + [DomainSupport.idempotencyField],
            result: template, access: .role(.manager),
            function: "api.template_create"),

        BulkImport.method(
            "template.import",
            summary: "Many templates at once (engagementctl import templates FILE.csv), naming the service by code, default_kpis as a JSON array: a report per row; a template whose service has one of that name is skipped.",
            columns: [.init("service_code", ServiceMethods.code, "the service it applies to, by code")] + columns,
            access: .role(.manager), function: "api.template_import"),

        MethodDefinition("template.get", summary: "One template by id.",
            params: [.init("id", .uuid, "the template")], result: template, access: .role(.viewer),
            function: "api.template_get"),

        MethodDefinition("template.update", summary: "Change a template; send the version you read. archived: true archives it.",
            params: [
                .init("id", .uuid, "the template"),
                .init("version", .integer(minimum: 1), "the version you last read"),
                .init("service_id", .uuid, required: false, "another service"),
                .init("name", .string(minLength: 1, maxLength: 200), required: false, "new name"),
                .init("default_kpis", kpis, required: false, "replaces the default KPIs"),
                .init("checkin_cadence", cadence, required: false, "new cadence"),
                .init("archived", .boolean, required: false, "archive (true) or restore (false)"),
            ],
            result: template, access: .role(.manager),
            function: "api.template_update"),

        MethodDefinition("template.delete", summary: "Delete a template no engagement uses (otherwise -32004 in_use: archive it).",
            params: [.init("id", .uuid, "the template"), .init("version", .integer(minimum: 1), "the version you last read")],
            result: DomainSupport.deleted, access: .role(.manager),
            function: "api.template_delete"),

        MethodDefinition("template.list", summary: "Templates, filtered and sorted, one page at a time.",
            params: [
                .init("service_id", .uuid, required: false, "only templates of this service"),
                .init("q", .string(minLength: 1, maxLength: 200), required: false, "text in the name"),
                .init("include_archived", .boolean, required: false, "also archived templates (default false)"),
            ] + DomainSupport.listFields,
            result: DomainSupport.page(of: template), access: .role(.viewer),
            function: "api.template_list"),
    ]
}

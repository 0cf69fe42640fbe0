import JSONRPC

/// Services: the kinds of offering an organisation delivers. Read by every role, written by managers and
/// admins. Retire a service with `active: false`; delete only one nothing refers to. The work:
/// `SQL/definitions/0111_api_services.sql`.
enum ServiceMethods {
    static let service = Schema.object([
        .init("id", .uuid, "the service"),
        .init("code", .string(), "short code, unique per organisation (case-insensitive)"),
        .init("name", .string(), "display name"),
        .init("description", .string(), "free text (empty when none)"),
        .init("owner_user_id", .nullable(.uuid), "the user who owns the service"),
        .init("active", .boolean, "offered now"),
        .init("version", .integer(minimum: 1), "row version, for optimistic concurrency"),
        .init("created_at", .string(format: "date-time"), "created"),
        .init("updated_at", .string(format: "date-time"), "last changed"),
    ])
    /// The same rule as the table's CHECK constraint, so a bad code gets a field path rather than a refusal.
    static let code = Schema.string(minLength: 1, maxLength: 40, pattern: "[A-Za-z0-9][A-Za-z0-9._-]{0,39}")

    static let create = MethodDefinition("service.create", summary: "Create a service (code unique per organisation, case-insensitive).",
            params: [
                .init("code", code, "short code: letters, digits, . _ -, starting with a letter or digit"),
                .init("name", .string(minLength: 1, maxLength: 200), "display name"),
                .init("description", .string(maxLength: 4000), required: false, "free text"),
                .init("owner_user_id", .uuid, required: false, "the user who owns the service"),
                .init("active", .boolean, required: false, "offered now (default true)"),
                DomainSupport.idempotencyField,
            ],
            result: service, access: .role(.manager),
            function: "api.service_create")

    static let all: [MethodDefinition] = [
        create,
        BulkImport.method(
            "service.import",
            summary: "Many services at once (engagementctl import services FILE.csv): a report per row; a service whose code exists is skipped.",
            columns: create.params.filter { !["idempotency_key", "owner_user_id"].contains($0.name) }, access: create.access,
            function: "api.service_import"),

        MethodDefinition("service.get", summary: "One service by id.",
            params: [.init("id", .uuid, "the service")], result: service, access: .role(.viewer),
            function: "api.service_get"),

        MethodDefinition("service.update", summary: "Change a service; send the version you read (a stale one gets -32004).",
            params: [
                .init("id", .uuid, "the service"),
                .init("version", .integer(minimum: 1), "the version you last read"),
                .init("code", code, required: false, "new code"),
                .init("name", .string(minLength: 1, maxLength: 200), required: false, "new name"),
                .init("description", .string(maxLength: 4000), required: false, "new description"),
                .init("owner_user_id", .nullable(.uuid), required: false, "new owner; null clears it"),
                .init("active", .boolean, required: false, "offered now"),
            ],
            result: service, access: .role(.manager),
            function: "api.service_update"),

        MethodDefinition("service.delete",
            summary: "Delete a service nothing refers to (otherwise -32004 in_use: set active to false instead).",
            params: [.init("id", .uuid, "the service"), .init("version", .integer(minimum: 1), "the version you last read")],
            result: DomainSupport.deleted, access: .role(.manager),
            function: "api.service_delete"),

        MethodDefinition("service.list", summary: "Services, filtered and sorted, one page at a time (inactive ones only when asked).",
            params: [
                .init("q", .string(minLength: 1, maxLength: 200), required: false, "text in name or code"),
                .init("owner_user_id", .uuid, required: false, "only services this user owns"),
                .init("include_inactive", .boolean, required: false, "also inactive services (default false)"),
                .init("portfolio_id", .uuid, required: false, "only services in this portfolio"),
            ] + DomainSupport.listFields,
            result: DomainSupport.page(of: service), access: .role(.viewer),
            function: "api.service_list"),
    ]
}

import JSONRPC
import PostgresClient

/// Services: the kinds of offering an organisation delivers. Read by every role, written by managers and
/// admins. Retire a service with `active: false`; delete only one nothing refers to.
enum ServiceMethods {
    static let service = Schema.any(
        description: "a service: {id, code, name, description, owner_user_id, active, version, created_at, updated_at}")
    /// The same rule as the table's CHECK constraint, so a bad code gets a field path rather than a refusal.
    static let code = Schema.string(minLength: 1, maxLength: 40, pattern: "[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
    /// Foreign keys whose violation means a param named an id that does not exist (in this organisation).
    static let references = [
        "services_owner_fk": "params.owner_user_id",
        "services_code_unique": "params.code",
    ]

    static let all: [MethodDefinition] = [create, get, update, delete, list]

    static let create = MethodDefinition(
        "service.create", summary: "Create a service (code unique per organisation, case-insensitive).",
        params: [
            .init("code", code, "short code: letters, digits, . _ -, starting with a letter or digit"),
            .init("name", .string(minLength: 1, maxLength: 200), "display name"),
            .init("description", .string(maxLength: 4000), required: false, "free text"),
            .init("owner_user_id", .uuid, required: false, "the user who owns the service"),
            .init("active", .boolean, required: false, "offered now (default true)"),
            DomainSupport.idempotencyField,
        ],
        result: service, access: .role(.manager)
    ) { context, params throws(RPCError) in
        try await context.jsonOfLast(
            DomainSQL.idempotentCreate(
                table: "services", method: "service.create",
                columns: ["code", "name", "description", "owner_user_id", "active"],
                values: ["$4", "btrim($5)", "coalesce($6, '')", "$7::uuid", "coalesce($8::boolean, true)"],
                render: "service_json", params: params,
                parameters: [params.string("code"), params.string("name"), params.string("description"),
                             params.string("owner_user_id"), params.bool("active")]),
            references: references)
    }

    static let get = MethodDefinition(
        "service.get", summary: "One service by id.",
        params: [.init("id", .uuid, "the service")], result: service, access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(DomainSQL.get(table: "services", render: "service_json"), [params.string("id")]))
    }

    static let update = MethodDefinition(
        "service.update", summary: "Change a service; send the version you read (a stale one gets -32004).",
        params: [
            .init("id", .uuid, "the service"),
            .init("version", .integer(minimum: 1), "the version you last read"),
            .init("code", code, required: false, "new code"),
            .init("name", .string(minLength: 1, maxLength: 200), required: false, "new name"),
            .init("description", .string(maxLength: 4000), required: false, "new description"),
            .init("owner_user_id", .nullable(.uuid), required: false, "new owner; null clears it"),
            .init("active", .boolean, required: false, "offered now"),
        ],
        result: service, access: .role(.manager)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let result = try await context.run(
            [Statement(
                DomainSQL.versionedUpdate(
                    table: "services",
                    assignments: [
                        "code = coalesce($3, row.code)",
                        "name = coalesce(btrim($4), row.name)",
                        "description = coalesce($5, row.description)",
                        DomainSQL.settable("owner_user_id", flag: 6, cast: "uuid"),
                        "active = coalesce($8::boolean, row.active)",
                    ],
                    render: "service_json"),
                [params.string("id"), version, params.string("code"), params.string("name"), params.string("description"),
                 params.value("owner_user_id") != nil, params.string("owner_user_id"), params.bool("active")])],
            references: references)[0]
        return try DomainSupport.versionedWrite(result, requestedVersion: version)
    }

    static let delete = MethodDefinition(
        "service.delete",
        summary: "Delete a service nothing refers to (otherwise -32004 in_use: set active to false instead).",
        params: [.init("id", .uuid, "the service"), .init("version", .integer(minimum: 1), "the version you last read")],
        result: .any(description: "{id, deleted: true}"), access: .role(.manager)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let result = try await context.run([Statement(DomainSQL.versionedDelete(table: "services"), [params.string("id"), version])])[0]
        return try DomainSupport.versionedWrite(result, requestedVersion: version)
    }

    static let list = MethodDefinition(
        "service.list", summary: "Services, filtered and sorted, one page at a time (inactive ones only when asked).",
        params: [
            .init("q", .string(minLength: 1, maxLength: 200), required: false, "text in name or code"),
            .init("owner_user_id", .uuid, required: false, "only services this user owns"),
            .init("include_inactive", .boolean, required: false, "also inactive services (default false)"),
            .init("portfolio_id", .uuid, required: false, "only services in this portfolio"),
        ] + DomainSupport.listFields,
        result: .any(description: "{items: [service], next_cursor: string or null}"), access: .role(.viewer)
    ) { context, params throws(RPCError) in
        let page = try DomainSupport.page(params)
        return try await context.json(Statement(
            DomainSQL.list(
                table: "services", render: "service_json",
                filters: [
                    "($1::text IS NULL OR row.name ILIKE $1 OR row.code ILIKE $1)",
                    "($2::uuid IS NULL OR row.owner_user_id = $2::uuid)",
                    "($3::boolean OR row.active)",
                    DomainSupport.inPortfolio(serviceColumn: "row.id", parameter: 4),
                ],
                filterParameters: 4, page: page),
            [params.string("q").map(DomainSupport.containsPattern), params.string("owner_user_id"),
             params.bool("include_inactive") ?? false, params.string("portfolio_id"), page.after?.key, page.after?.id,
             page.limit]))
    }
}

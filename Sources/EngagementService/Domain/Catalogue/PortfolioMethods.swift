import JSONRPC
import PostgresClient

/// Portfolios: named groups of services (many-to-many). Read by every role, written by managers and admins.
enum PortfolioMethods {
    static let portfolio = Schema.any(
        description: "a portfolio: {id, name, description, archived, services: [{id, code, name}], version, created_at, updated_at}")
    static let references = [
        "portfolio_services_service_fk": "params.service_id",
        "portfolios_name_unique": "params.name",
    ]
    static let all: [MethodDefinition] = [create, get, update, delete, list, addService, removeService]

    static let create = MethodDefinition(
        "portfolio.create", summary: "Create a portfolio (name unique per organisation, case-insensitive).",
        params: [
            .init("name", .string(minLength: 1, maxLength: 200), "display name"),
            .init("description", .string(maxLength: 4000), required: false, "free text"),
            DomainSupport.idempotencyField,
        ],
        result: portfolio, access: .role(.manager)
    ) { context, params throws(RPCError) in
        try await context.jsonOfLast(DomainSQL.idempotentCreate(
            table: "portfolios", method: "portfolio.create", columns: ["name", "description"],
            values: ["btrim($4)", "coalesce($5, '')"], render: "portfolio_json", params: params,
            parameters: [params.string("name"), params.string("description")]),
            references: references)
    }

    static let get = MethodDefinition(
        "portfolio.get", summary: "One portfolio by id, with its services.",
        params: [.init("id", .uuid, "the portfolio")], result: portfolio, access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(DomainSQL.get(table: "portfolios", render: "portfolio_json"), [params.string("id")]))
    }

    static let update = MethodDefinition(
        "portfolio.update", summary: "Rename, describe, archive or restore a portfolio; send the version you read.",
        params: [
            .init("id", .uuid, "the portfolio"),
            .init("version", .integer(minimum: 1), "the version you last read"),
            .init("name", .string(minLength: 1, maxLength: 200), required: false, "new name"),
            .init("description", .string(maxLength: 4000), required: false, "new description"),
            .init("archived", .boolean, required: false, "archive (true) or restore (false)"),
        ],
        result: portfolio, access: .role(.manager)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let result = try await context.run([Statement(
            DomainSQL.versionedUpdate(
                table: "portfolios",
                assignments: [
                    "name = coalesce(btrim($3), row.name)",
                    "description = coalesce($4, row.description)",
                    DomainSQL.toggledTimestamp("archived_at", parameter: 5),
                ],
                render: "portfolio_json"),
            [params.string("id"), version, params.string("name"), params.string("description"), params.bool("archived")])],
            references: references)[0]
        return try DomainSupport.versionedWrite(result, requestedVersion: version)
    }

    static let delete = MethodDefinition(
        "portfolio.delete", summary: "Delete a portfolio (its services stay).",
        params: [.init("id", .uuid, "the portfolio"), .init("version", .integer(minimum: 1), "the version you last read")],
        result: .any(description: "{id, deleted: true}"), access: .role(.manager)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let result = try await context.run([Statement(DomainSQL.versionedDelete(table: "portfolios"), [params.string("id"), version])])[0]
        return try DomainSupport.versionedWrite(result, requestedVersion: version)
    }

    static let list = MethodDefinition(
        "portfolio.list", summary: "Portfolios, one page at a time (archived ones only when asked).",
        params: [
            .init("q", .string(minLength: 1, maxLength: 200), required: false, "text in the name"),
            .init("service_id", .uuid, required: false, "only portfolios containing this service"),
            .init("include_archived", .boolean, required: false, "also archived portfolios (default false)"),
        ] + DomainSupport.listFields,
        result: .any(description: "{items: [portfolio], next_cursor: string or null}"), access: .role(.viewer)
    ) { context, params throws(RPCError) in
        let page = try DomainSupport.page(params)
        return try await context.json(Statement(
            DomainSQL.list(
                table: "portfolios", render: "portfolio_json",
                filters: [
                    "($1::text IS NULL OR row.name ILIKE $1)",
                    """
                    ($2::uuid IS NULL OR EXISTS (SELECT FROM app.portfolio_services ps
                        WHERE ps.organisation_id = row.organisation_id AND ps.portfolio_id = row.id
                          AND ps.service_id = $2::uuid))
                    """,
                    "($3::boolean OR row.archived_at IS NULL)",
                ],
                filterParameters: 3, page: page),
            [params.string("q").map(DomainSupport.containsPattern), params.string("service_id"),
             params.bool("include_archived") ?? false, page.after?.key, page.after?.id, page.limit]))
    }

    static let addService = MethodDefinition(
        "portfolio.add_service", summary: "Put a service into a portfolio (no effect when it is already there).",
        params: [.init("id", .uuid, "the portfolio"), .init("service_id", .uuid, "the service")],
        result: portfolio, access: .role(.manager)
    ) { context, params throws(RPCError) in
        try await membership(context, params, change: """
            INSERT INTO app.portfolio_services (organisation_id, portfolio_id, service_id)
            SELECT app.current_organisation_id(), $1::uuid, $2::uuid
            WHERE EXISTS (SELECT FROM app.portfolios WHERE organisation_id = app.current_organisation_id() AND id = $1::uuid)
            ON CONFLICT DO NOTHING
            """)
    }

    static let removeService = MethodDefinition(
        "portfolio.remove_service", summary: "Take a service out of a portfolio (no effect when it is not there).",
        params: [.init("id", .uuid, "the portfolio"), .init("service_id", .uuid, "the service")],
        result: portfolio, access: .role(.manager)
    ) { context, params throws(RPCError) in
        try await membership(context, params, change: """
            DELETE FROM app.portfolio_services
            WHERE organisation_id = app.current_organisation_id() AND portfolio_id = $1::uuid AND service_id = $2::uuid
            """)
    }

    /// Runs a membership change and replies with the portfolio; an unknown portfolio is "not found".
    private static func membership(_ context: CallContext, _ params: ParamReader, change: String) async throws(RPCError)
        -> ResponseBody
    {
        try await context.jsonOfLast(
            [
                Statement(change, [params.string("id"), params.string("service_id")]),
                Statement(DomainSQL.get(table: "portfolios", render: "portfolio_json"), [params.string("id")]),
            ], references: references)
    }
}

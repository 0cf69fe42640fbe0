import JSONRPC

/// Portfolios: named groups of services (many-to-many). Read by every role, written by managers and admins.
/// The work: `SQL/definitions/0112_api_portfolios.sql`.
enum PortfolioMethods {
    static let portfolio = Schema.object([
        .init("id", .uuid, "the portfolio"),
        .init("name", .string(), "display name, unique per organisation (case-insensitive)"),
        .init("description", .string(), "free text (empty when none)"),
        .init("archived", .boolean, "archived portfolios are hidden from lists unless asked for"),
        .init("services", .array(items: .object([
            .init("id", .uuid, "the service"), .init("code", .string(), "its code"), .init("name", .string(), "its name"),
        ])), "its services, by code"),
        .init("version", .integer(minimum: 1), "row version, for optimistic concurrency"),
        .init("created_at", .string(format: "date-time"), "created"),
        .init("updated_at", .string(format: "date-time"), "last changed"),
    ])

    static let all: [MethodDefinition] = [
        MethodDefinition("portfolio.create", summary: "Create a portfolio (name unique per organisation, case-insensitive).",
            params: [
                .init("name", .string(minLength: 1, maxLength: 200), "display name"),
                .init("description", .string(maxLength: 4000), required: false, "free text"),
                DomainSupport.idempotencyField,
            ],
            result: portfolio, access: .role(.manager),
            function: "api.portfolio_create"),

        MethodDefinition("portfolio.get", summary: "One portfolio by id, with its services.",
            params: [.init("id", .uuid, "the portfolio")], result: portfolio, access: .role(.viewer),
            function: "api.portfolio_get"),

        MethodDefinition("portfolio.update", summary: "Rename, describe, archive or restore a portfolio; send the version you read.",
            params: [
                .init("id", .uuid, "the portfolio"),
                .init("version", .integer(minimum: 1), "the version you last read"),
                .init("name", .string(minLength: 1, maxLength: 200), required: false, "new name"),
                .init("description", .string(maxLength: 4000), required: false, "new description"),
                .init("archived", .boolean, required: false, "archive (true) or restore (false)"),
            ],
            result: portfolio, access: .role(.manager),
            function: "api.portfolio_update"),

        MethodDefinition("portfolio.delete", summary: "Delete a portfolio (its services stay).",
            params: [.init("id", .uuid, "the portfolio"), .init("version", .integer(minimum: 1), "the version you last read")],
            result: DomainSupport.deleted, access: .role(.manager),
            function: "api.portfolio_delete"),

        MethodDefinition("portfolio.list", summary: "Portfolios, one page at a time (archived ones only when asked).",
            params: [
                .init("q", .string(minLength: 1, maxLength: 200), required: false, "text in the name"),
                .init("service_id", .uuid, required: false, "only portfolios containing this service"),
                .init("include_archived", .boolean, required: false, "also archived portfolios (default false)"),
            ] + DomainSupport.listFields,
            result: DomainSupport.page(of: portfolio), access: .role(.viewer),
            function: "api.portfolio_list"),

        MethodDefinition("portfolio.add_service", summary: "Put a service into a portfolio (no effect when it is already there).",
            params: [.init("id", .uuid, "the portfolio"), .init("service_id", .uuid, "the service")],
            result: portfolio, access: .role(.manager),
            function: "api.portfolio_add_service"),

        MethodDefinition("portfolio.remove_service", summary: "Take a service out of a portfolio (no effect when it is not there).",
            params: [.init("id", .uuid, "the portfolio"), .init("service_id", .uuid, "the service")],
            result: portfolio, access: .role(.manager),
            function: "api.portfolio_remove_service"),
    ]
}

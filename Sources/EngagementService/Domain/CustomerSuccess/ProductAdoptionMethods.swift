import JSONRPC

/// Products and their capabilities (written by managers), and per engagement, product and month the licences
/// and capability usage (written by members), with adoption scores. The work and the formula:
/// `SQL/definitions/0230_product_adoption.sql`.
enum ProductAdoptionMethods {
    /// The adoption scores health models and risk rules can use (`SQL/definitions/0231_adoption_signals.sql`).
    static let measures = ["adoption_score", "licence_utilisation", "capability_coverage", "capability_usage"]
    static let capabilityParams: [Schema.Field] = [
        .init("name", .string(minLength: 1, maxLength: 200), "unique per product (case-insensitive)"),
        .init("usage_target", .numberInRange(minimum: 0, maximum: nil), "the monthly usage that counts as fully adopted (above 0)"),
    ]
    static let product = Schema.object([
        .init("id", .uuid, "the product"), .init("name", .string(), "unique per organisation"),
        .init("description", .string(), "what it is"), .init("archived", .boolean, "hidden from lists unless asked for"),
        .init("capabilities", .array(items: .object([
            .init("id", .uuid, "the capability"), .init("name", .string(), "its name"), .init("usage_target", .number, "its target"),
        ])), "its capabilities, by name"),
        .init("version", .integer(minimum: 1), "row version"),
        .init("created_at", .string(format: "date-time"), "created"), .init("updated_at", .string(format: "date-time"), "last changed"),
    ])
    static let score = Schema.nullable(.number)
    static let month = Schema.object([
        .init("engagement_id", .uuid, "the engagement"), .init("product_id", .uuid, "the product"),
        .init("product", .string(), "its name"), .init("period", .string(), "YYYY-MM"),
        .init("licences_purchased", .integer(minimum: 0), "licences bought"), .init("licences_active", .integer(minimum: 0), "licences in use"),
        .init("licence_utilisation", score, "min(100, active ÷ purchased × 100); null when nothing was purchased"),
        .init("capabilities", .array(items: .object([
            .init("capability", .string(), "its name"), .init("usage", .number, "the month's usage (0 when none was recorded)"),
            .init("target", .number, "its target"), .init("score", .number, "min(100, usage ÷ target × 100)"),
        ])), "every capability of the product"),
        .init("capability_coverage", score, "mean of the capability scores; null when the product has none"),
        .init("adoption_score", score, "mean of licence utilisation and capability coverage, over those that exist"),
    ])

    static let all: [MethodDefinition] = [
        MethodDefinition("product.create", summary: "Add a product, with its capabilities and their monthly usage targets.",
            params: [
                .init("name", .string(minLength: 1, maxLength: 200), "unique per organisation (case-insensitive)"),
                .init("description", .string(maxLength: 4000), required: false, "what it is"),
                .init("capabilities", .array(items: .object(capabilityParams), maxItems: 100), required: false, "its capabilities"),
                DomainSupport.idempotencyField,
            ],
            result: product, access: .role(.manager), function: "api.product_create"),

        MethodDefinition("product.get", summary: "One product with its capabilities.",
            params: [.init("id", .uuid, "the product")], result: product, access: .role(.viewer), function: "api.product_get"),

        MethodDefinition("product.update", summary: "Rename, describe, archive or restore a product; send the version you read.",
            params: [
                .init("id", .uuid, "the product"),
                .init("version", .integer(minimum: 1), "the version you last read"),
                .init("name", .string(minLength: 1, maxLength: 200), required: false, "new name"),
                .init("description", .string(maxLength: 4000), required: false, "new description"),
                .init("archived", .boolean, required: false, "archive (true) or restore (false)"),
            ],
            result: product, access: .role(.manager), function: "api.product_update"),

        MethodDefinition("product.list", summary: "Products, one page at a time (archived ones only when asked).",
            params: [
                .init("q", .string(minLength: 1, maxLength: 200), required: false, "text in the name"),
                .init("include_archived", .boolean, required: false, "also archived products (default false)"),
            ] + DomainSupport.listFields,
            result: DomainSupport.page(of: product), access: .role(.viewer), function: "api.product_list"),

        MethodDefinition("product.set_capability", summary: "Add a capability to a product, or change the target of the one of that name.",
            params: [.init("id", .uuid, "the product")] + capabilityParams,
            result: product, access: .role(.manager), function: "api.product_set_capability"),

        MethodDefinition("product.remove_capability",
            summary: "Remove a capability no usage was recorded for (-32004 in_use otherwise).",
            params: [.init("id", .uuid, "the product"), .init("name", .string(minLength: 1, maxLength: 200), "the capability")],
            result: product, access: .role(.manager), function: "api.product_remove_capability"),

        MethodDefinition("adoption.record",
            summary: "Record (or replace) a month of a product on an engagement: licences and each capability's usage, by name.",
            params: [
                .init("engagement_id", .uuid, "the engagement"),
                .init("product_id", .uuid, "the product"),
                .init("period", CheckInMethods.period, "the month, YYYY-MM, within the engagement's dates"),
                .init("licences_purchased", .integer(minimum: 0), "licences bought"),
                .init("licences_active", .integer(minimum: 0), "licences in use"),
                .init("usage", .array(items: .object([
                    .init("capability", .string(minLength: 1, maxLength: 200), "a capability of the product"),
                    .init("count", .nonNegativeNumber, "the month's usage"),
                ]), maxItems: 200), required: false, "usage per capability; those left out had none"),
            ],
            result: month, access: .role(.member), function: "api.adoption_record"),

        MethodDefinition("adoption.report", summary: "An engagement's adoption per month and product, with the scores.",
            params: [
                .init("engagement_id", .uuid, "the engagement"),
                .init("product_id", .uuid, required: false, "only this product"),
                .init("from", CheckInMethods.period, required: false, "first month, YYYY-MM"),
                .init("to", CheckInMethods.period, required: false, "last month, YYYY-MM"),
            ],
            result: .array(items: month), access: .role(.viewer), function: "api.adoption_report"),
    ]
}

import JSONRPC

/// Contracts with their rate overrides and SLA terms. Read by every role, written by managers and admins.
/// Amounts travel as JSON numbers and are stored as numeric: the exact digits sent are the digits kept. The work:
/// `SQL/definitions/0114_api_contracts.sql`.
enum ContractMethods {
    static let types = Schema.enumeration(["fixed_fee", "time_and_materials", "retainer", "mou"])
    static let statuses = Schema.enumeration(["draft", "active", "expired", "terminated"])
    static let currency = Schema.string(minLength: 3, maxLength: 3, pattern: "[A-Z]{3}")
    static let penalty = Schema.object([
        .init("tiers", .array(items: .object([
            .init("threshold", .number, "breach level from which this tier applies"),
            .init("credit_percent", .number, required: false, "service credit as % of the period's fee"),
            .init("credit_amount", .number, required: false, "or a fixed service credit"),
        ]), maxItems: 20), "tiers, from the mildest breach to the worst (thresholds beyond the target, each further; credits never fall)"),
        .init("cap_percent", .number, required: false, "credits never exceed this % of the period's fee"),
        .init("cap_amount", .number, required: false, "or this amount"),
        .init("minimum_amount", .number, required: false, "a credit below this is not issued"),
        .init("fee_basis", .enumeration(["contract", "finance_plan"]), required: false,
              "the period's fee: the contract's value prorated (default) or the engagement's planned revenue"),
        .init("period_fee", .number, required: false, "or this fee per measurement period"),
    ])
    static let contract = Schema.object([
        .init("id", .uuid, "the contract"),
        .init("reference", .string(), "your contract number, unique per organisation"),
        .init("title", .string(), "title"),
        .init("contract_type", types, "fixed_fee, time_and_materials, retainer or mou"),
        .init("total_value", .nullable(.number), "total value (null only for an mou)"),
        .init("currency", currency, "ISO 4217 code"),
        .init("start_date", EngagementMethods.date, "YYYY-MM-DD"),
        .init("end_date", .nullable(EngagementMethods.date), "YYYY-MM-DD"),
        .init("status", statuses, "draft, active, expired or terminated"),
        .init("customer", .object([.init("id", .uuid, "the customer"), .init("name", .string(), "its name")]), "the customer"),
        .init("rates", .array(items: .object([
            .init("rate_key", .string(), "role or rate-card line"), .init("rate_per_hour", .number, "in the contract's currency"),
        ])), "rate overrides, by key"),
        .init("sla_terms", .array(items: .object([
            .init("id", .uuid, "the term"), .init("metric", .string(), "e.g. availability"), .init("target", .number, "e.g. 99.9"),
            .init("comparison", .enumeration([">=", "<="]), "met when actual >= target, or <="),
            .init("measurement_period", .enumeration(["monthly", "quarterly", "annual"]), "how often it is measured"),
            .init("penalty", penalty, "service credits for breaches"),
            .init("exclusions", .string(), "what does not count as a breach"),
        ])), "SLA terms, by metric"),
        .init("engagement_count", .integer(minimum: 0), "engagements under this contract"),
        .init("version", .integer(minimum: 1), "row version, for optimistic concurrency"),
        .init("created_at", .string(format: "date-time"), "created"),
        .init("updated_at", .string(format: "date-time"), "last changed"),
    ])

    static let create = MethodDefinition("contract.create", summary: "Create a contract with a customer (reference unique per organisation).",
        params: [
            .init("customer_party_id", .uuid, "the customer"),
            .init("reference", .string(minLength: 1, maxLength: 100), "your contract number"),
            .init("title", .string(minLength: 1, maxLength: 200), "title"),
            .init("contract_type", types, "fixed_fee, time_and_materials, retainer or mou"),
            .init("total_value", .number, required: false, "total value (required except for mou)"),
            .init("currency", currency, "ISO 4217 code, e.g. EUR"),
            .init("start_date", EngagementMethods.date, "YYYY-MM-DD"),
            .init("end_date", EngagementMethods.date, required: false, "YYYY-MM-DD"),
            .init("status", statuses, required: false, "default draft"),
            DomainSupport.idempotencyField,
        ],
        result: contract, access: .role(.manager),
        function: "api.contract_create")

    static let all: [MethodDefinition] = [
        create,

        MethodDefinition("contract.get", summary: "One contract with its rates and SLA terms, now or as it was at as_of.",
            params: [.init("id", .uuid, "the contract"), DomainSupport.asOfParam], result: DomainSupport.asOf(contract), access: .role(.viewer),
            function: "api.contract_get"),

        MethodDefinition("contract.update", summary: "Change a contract; send the version you read.",
            params: [
                .init("id", .uuid, "the contract"),
                .init("version", .integer(minimum: 1), "the version you last read"),
                .init("customer_party_id", .uuid, required: false, "another customer (only while no engagement uses it)"),
                .init("reference", .string(minLength: 1, maxLength: 100), required: false, "new reference"),
                .init("title", .string(minLength: 1, maxLength: 200), required: false, "new title"),
                .init("contract_type", types, required: false, "new type"),
                .init("total_value", .nullable(.number), required: false, "new value; null only for mou"),
                .init("currency", currency, required: false, "new currency"),
                .init("start_date", EngagementMethods.date, required: false, "new start"),
                .init("end_date", .nullable(EngagementMethods.date), required: false, "new end; null clears it"),
                .init("status", statuses, required: false, "new status"),
            ],
            result: contract, access: .role(.manager),
            function: "api.contract_update"),

        MethodDefinition("contract.delete", summary: "Delete a contract no engagement refers to (otherwise -32004 in_use).",
            params: [.init("id", .uuid, "the contract"), .init("version", .integer(minimum: 1), "the version you last read")],
            result: DomainSupport.deleted, access: .role(.manager),
            function: "api.contract_delete"),

        MethodDefinition("contract.list", summary: "Contracts, filtered and sorted (sort name is the title), one page at a time.",
            params: [
                .init("customer_party_id", .uuid, required: false, "only this customer's"),
                .init("status", statuses, required: false, "only this status"),
                .init("contract_type", types, required: false, "only this type"),
                .init("q", .string(minLength: 1, maxLength: 200), required: false, "text in title or reference"),
            ] + DomainSupport.listFields,
            result: DomainSupport.page(of: contract), access: .role(.viewer),
            function: "api.contract_list"),
    ] + ContractTermMethods.all + ContractImportMethods.all
}

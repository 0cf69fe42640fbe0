import JSONRPC
import PostgresClient

/// Contracts with their rate overrides and SLA terms. Read by every role, written by managers and admins.
/// Amounts travel as JSON numbers and are stored as numeric: the exact digits sent are the digits kept.
enum ContractMethods {
    static let contract = Schema.any(
        description: "a contract: {id, reference, title, contract_type, total_value, currency, start_date, end_date, status, customer: {id, name}, rates: [{rate_key, rate_per_hour}], sla_terms: [...], engagement_count, version, created_at, updated_at}")
    static let types = Schema.enumeration(["fixed_fee", "time_and_materials", "retainer", "mou"])
    static let statuses = Schema.enumeration(["draft", "active", "expired", "terminated"])
    static let currency = Schema.string(minLength: 3, maxLength: 3, pattern: "[A-Z]{3}")
    static let penalty = Schema.object([
        .init("tiers", .array(items: .object([
            .init("threshold", .number, "breach level from which this tier applies"),
            .init("credit_percent", .number, required: false, "service credit as % of the period's fee"),
            .init("credit_amount", .number, required: false, "or a fixed service credit"),
        ]), maxItems: 20), "tiers, from the mildest breach up"),
        .init("cap_percent", .number, required: false, "credits never exceed this % of the period's fee"),
        .init("cap_amount", .number, required: false, "or this amount"),
    ])
    static let references = [
        "contracts_customer_fk": "params.customer_party_id",
        "contracts_customer_kind": "params.customer_party_id",
        "contracts_dates": "params.end_date",
        "contracts_value": "params.total_value",
        "sla_terms_contract_fk": "params.id",
        "contract_rates_contract_fk": "params.id",
        "contracts_reference_unique": "params.reference",
    ]

    static let all: [MethodDefinition] = [create, get, update, delete, list] + ContractTermMethods.all

    static let create = MethodDefinition(
        "contract.create", summary: "Create a contract with a customer (reference unique per organisation).",
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
        result: contract, access: .role(.manager)
    ) { context, params throws(RPCError) in
        try await context.jsonOfLast(
            DomainSQL.idempotentCreate(
                table: "contracts", method: "contract.create",
                columns: ["customer_party_id", "reference", "title", "contract_type", "total_value", "currency",
                          "start_date", "end_date", "status"],
                values: ["$4::uuid", "btrim($5)", "btrim($6)", "$7", "$8::numeric", "$9", "$10::date", "$11::date",
                         "coalesce($12, 'draft')"],
                render: "contract_json", params: params,
                parameters: [params.string("customer_party_id"), params.string("reference"), params.string("title"),
                             params.string("contract_type"), number(params, "total_value"), params.string("currency"),
                             params.string("start_date"), params.string("end_date"), params.string("status")]),
            references: references)
    }

    static let get = MethodDefinition(
        "contract.get", summary: "One contract with its rates and SLA terms.",
        params: [.init("id", .uuid, "the contract")], result: contract, access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(DomainSQL.get(table: "contracts", render: "contract_json"), [params.string("id")]))
    }

    static let update = MethodDefinition(
        "contract.update", summary: "Change a contract; send the version you read.",
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
        result: contract, access: .role(.manager)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let result = try await context.run(
            [Statement(
                DomainSQL.versionedUpdate(
                    table: "contracts",
                    assignments: [
                        "customer_party_id = coalesce($3::uuid, row.customer_party_id)",
                        "reference = coalesce(btrim($4), row.reference)", "title = coalesce(btrim($5), row.title)",
                        "contract_type = coalesce($6, row.contract_type)",
                        DomainSQL.settable("total_value", flag: 7, cast: "numeric"),
                        "currency = coalesce($9, row.currency)", "start_date = coalesce($10::date, row.start_date)",
                        DomainSQL.settable("end_date", flag: 11, cast: "date"),
                        "status = coalesce($13, row.status)",
                    ],
                    render: "contract_json"),
                [params.string("id"), version, params.string("customer_party_id"), params.string("reference"),
                 params.string("title"), params.string("contract_type"), params.value("total_value") != nil,
                 number(params, "total_value"), params.string("currency"), params.string("start_date"),
                 params.value("end_date") != nil, params.string("end_date"), params.string("status")])],
            references: references)[0]
        return try DomainSupport.versionedWrite(result, requestedVersion: version)
    }

    static let delete = MethodDefinition(
        "contract.delete", summary: "Delete a contract no engagement refers to (otherwise -32004 in_use).",
        params: [.init("id", .uuid, "the contract"), .init("version", .integer(minimum: 1), "the version you last read")],
        result: .any(description: "{id, deleted: true}"), access: .role(.manager)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let result = try await context.run([Statement(DomainSQL.versionedDelete(table: "contracts"), [params.string("id"), version])])[0]
        return try DomainSupport.versionedWrite(result, requestedVersion: version)
    }

    static let list = MethodDefinition(
        "contract.list", summary: "Contracts, filtered and sorted (sort name is the title), one page at a time.",
        params: [
            .init("customer_party_id", .uuid, required: false, "only this customer's"),
            .init("status", statuses, required: false, "only this status"),
            .init("contract_type", types, required: false, "only this type"),
            .init("q", .string(minLength: 1, maxLength: 200), required: false, "text in title or reference"),
        ] + DomainSupport.listFields,
        result: .any(description: "{items: [contract], next_cursor: string or null}"), access: .role(.viewer)
    ) { context, params throws(RPCError) in
        let page = try DomainSupport.page(params)
        return try await context.json(Statement(
            DomainSQL.list(
                table: "contracts", render: "contract_json",
                filters: [
                    "($1::uuid IS NULL OR row.customer_party_id = $1::uuid)", "($2::text IS NULL OR row.status = $2)",
                    "($3::text IS NULL OR row.contract_type = $3)",
                    "($4::text IS NULL OR row.title ILIKE $4 OR row.reference ILIKE $4)",
                ],
                filterParameters: 4, page: page, sortColumns: ["name": "title"]),
            [params.string("customer_party_id"), params.string("status"), params.string("contract_type"),
             params.string("q").map(DomainSupport.containsPattern), page.after?.key, page.after?.id, page.limit]))
    }

    /// A JSON number param as its exact text, for a numeric column.
    static func number(_ params: ParamReader, _ name: String) -> String? {
        if case .number(let lexeme)? = params.value(name) { return lexeme }
        return nil
    }
}

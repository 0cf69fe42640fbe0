import JSONRPC

/// Rate overrides and SLA terms of a contract. Each change replies with the whole contract. The work:
/// `SQL/definitions/0114_api_contracts.sql`.
enum ContractTermMethods {
    static let setRate = MethodDefinition("contract.set_rate", summary: "Set the hourly rate of a role or rate-card line for this contract.",
        params: [
            .init("id", .uuid, "the contract"),
            .init("rate_key", .string(minLength: 1, maxLength: 100), "role or rate-card line"),
            .init("rate_per_hour", .number, "rate in the contract's currency"),
        ],
        result: ContractMethods.contract, access: .role(.manager),
        function: "api.contract_set_rate")

    static let addSLATerm = MethodDefinition("contract.add_sla_term",
        summary: "Add an SLA term: metric, target and comparison per period, with tiered penalties, a cap and exclusions.",
        params: [
            .init("id", .uuid, "the contract"),
            .init("metric", .string(minLength: 1, maxLength: 100), "e.g. availability"),
            .init("target", .number, "e.g. 99.9"),
            .init("comparison", .enumeration([">=", "<="]), "met when actual >= target, or <="),
            .init("measurement_period", .enumeration(["monthly", "quarterly", "annual"]), "how often it is measured"),
            .init("penalty", ContractMethods.penalty, required: false, "service credits for breaches"),
            .init("exclusions", .string(maxLength: 4000), required: false, "what does not count as a breach"),
            DomainSupport.idempotencyField,
        ],
        result: ContractMethods.contract, access: .role(.manager),
        function: "api.contract_add_sla_term")

    static let all: [MethodDefinition] = [
        setRate,

        MethodDefinition("contract.remove_rate", summary: "Remove a rate override (no effect when there is none).",
            params: [.init("id", .uuid, "the contract"), .init("rate_key", .string(minLength: 1, maxLength: 100), "the line")],
            result: ContractMethods.contract, access: .role(.manager),
            function: "api.contract_remove_rate"),

        addSLATerm,

        MethodDefinition("contract.update_sla_term", summary: "Change an SLA term; fields left out keep their value.",
            params: [
                .init("id", .uuid, "the contract"),
                .init("term_id", .uuid, "the SLA term"),
                .init("metric", .string(minLength: 1, maxLength: 100), required: false, "new metric"),
                .init("target", .number, required: false, "new target"),
                .init("comparison", .enumeration([">=", "<="]), required: false, "new comparison"),
                .init("measurement_period", .enumeration(["monthly", "quarterly", "annual"]), required: false, "new period"),
                .init("penalty", ContractMethods.penalty, required: false, "replaces the penalty definition"),
                .init("exclusions", .string(maxLength: 4000), required: false, "new exclusions"),
            ],
            result: ContractMethods.contract, access: .role(.manager),
            function: "api.contract_update_sla_term"),

        MethodDefinition("contract.remove_sla_term", summary: "Remove an SLA term by its id.",
            params: [.init("id", .uuid, "the contract"), .init("term_id", .uuid, "the SLA term")],
            result: ContractMethods.contract, access: .role(.manager),
            function: "api.contract_remove_sla_term"),
    ]
}

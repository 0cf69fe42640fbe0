import JSONRPC
import PostgresClient

/// Rate overrides and SLA terms of a contract. Each change replies with the whole contract.
enum ContractTermMethods {
    static let all: [MethodDefinition] = [setRate, removeRate, addSLATerm, updateSLATerm, removeSLATerm]

    static let setRate = MethodDefinition(
        "contract.set_rate", summary: "Set the hourly rate of a role or rate-card line for this contract.",
        params: [
            .init("id", .uuid, "the contract"),
            .init("rate_key", .string(minLength: 1, maxLength: 100), "role or rate-card line"),
            .init("rate_per_hour", .number, "rate in the contract's currency"),
        ],
        result: ContractMethods.contract, access: .role(.manager)
    ) { context, params throws(RPCError) in
        try await change(context, params, """
            INSERT INTO app.contract_rates (organisation_id, contract_id, rate_key, rate_per_hour)
            SELECT app.current_organisation_id(), $1::uuid, btrim($2), $3::numeric
            WHERE EXISTS (SELECT FROM app.contracts WHERE organisation_id = app.current_organisation_id() AND id = $1::uuid)
            ON CONFLICT (organisation_id, contract_id, rate_key) DO UPDATE SET rate_per_hour = EXCLUDED.rate_per_hour
            """, [params.string("id"), params.string("rate_key"), ContractMethods.number(params, "rate_per_hour")])
    }

    static let removeRate = MethodDefinition(
        "contract.remove_rate", summary: "Remove a rate override (no effect when there is none).",
        params: [.init("id", .uuid, "the contract"), .init("rate_key", .string(minLength: 1, maxLength: 100), "the line")],
        result: ContractMethods.contract, access: .role(.manager)
    ) { context, params throws(RPCError) in
        try await change(context, params, """
            DELETE FROM app.contract_rates
            WHERE organisation_id = app.current_organisation_id() AND contract_id = $1::uuid AND rate_key = btrim($2)
            """, [params.string("id"), params.string("rate_key")])
    }

    static let addSLATerm = MethodDefinition(
        "contract.add_sla_term",
        summary: "Add an SLA term: metric, target and comparison per period, with tiered penalties, a cap and exclusions.",
        params: [
            .init("id", .uuid, "the contract"),
            .init("metric", .string(minLength: 1, maxLength: 100), "e.g. availability"),
            .init("target", .number, "e.g. 99.9"),
            .init("comparison", .enumeration([">=", "<="]), "met when actual >= target, or <="),
            .init("measurement_period", .enumeration(["monthly", "quarterly", "annual"]), "how often it is measured"),
            .init("penalty", ContractMethods.penalty, required: false, "service credits for breaches"),
            .init("exclusions", .string(maxLength: 4000), required: false, "what does not count as a breach"),
        ],
        result: ContractMethods.contract, access: .role(.manager)
    ) { context, params throws(RPCError) in
        try await change(context, params, """
            INSERT INTO app.contract_sla_terms (organisation_id, contract_id, metric, target, comparison, measurement_period, penalty, exclusions)
            SELECT app.current_organisation_id(), $1::uuid, btrim($2), $3::numeric, $4, $5, coalesce($6::jsonb, '{"tiers": []}'), coalesce($7, '')
            WHERE EXISTS (SELECT FROM app.contracts WHERE organisation_id = app.current_organisation_id() AND id = $1::uuid)
            """,
            [params.string("id"), params.string("metric"), ContractMethods.number(params, "target"), params.string("comparison"),
             params.string("measurement_period"), params.value("penalty").map(JSONWriter.string), params.string("exclusions")])
    }

    static let updateSLATerm = MethodDefinition(
        "contract.update_sla_term", summary: "Change an SLA term; fields left out keep their value.",
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
        result: ContractMethods.contract, access: .role(.manager)
    ) { context, params throws(RPCError) in
        try await change(context, params, """
            UPDATE app.contract_sla_terms SET
                metric = coalesce(btrim($3), metric), target = coalesce($4::numeric, target),
                comparison = coalesce($5, comparison), measurement_period = coalesce($6, measurement_period),
                penalty = coalesce($7::jsonb, penalty), exclusions = coalesce($8, exclusions)
            WHERE organisation_id = app.current_organisation_id() AND contract_id = $1::uuid AND id = $2::uuid
            """,
            [params.string("id"), params.string("term_id"), params.string("metric"), ContractMethods.number(params, "target"),
             params.string("comparison"), params.string("measurement_period"), params.value("penalty").map(JSONWriter.string),
             params.string("exclusions")])
    }

    static let removeSLATerm = MethodDefinition(
        "contract.remove_sla_term", summary: "Remove an SLA term by its id.",
        params: [.init("id", .uuid, "the contract"), .init("term_id", .uuid, "the SLA term")],
        result: ContractMethods.contract, access: .role(.manager)
    ) { context, params throws(RPCError) in
        try await change(context, params, """
            DELETE FROM app.contract_sla_terms
            WHERE organisation_id = app.current_organisation_id() AND contract_id = $1::uuid AND id = $2::uuid
            """, [params.string("id"), params.string("term_id")])
    }

    /// Runs a change to a contract's terms and replies with the contract; an unknown contract is "not found".
    private static func change(
        _ context: CallContext, _ params: ParamReader, _ sql: String, _ parameters: [(any PostgresParameter)?]
    ) async throws(RPCError) -> ResponseBody {
        try await context.jsonOfLast(
            [Statement(sql, parameters), Statement(DomainSQL.get(table: "contracts", render: "contract_json"), [params.string("id")])],
            references: ContractMethods.references)
    }
}

import JSONRPC

/// Contracts from spreadsheets, as three files (one row per fact, as spreadsheets keep them): the contracts, naming
/// the customer by its party's external_ref; their rate overrides, one row per rate-card line; their SLA terms,
/// one row per term. Each names its contract by reference, so the contracts file goes first. The work:
/// `SQL/definitions/0501_kind_imports.sql`.
enum ContractImportMethods {
    static let all: [MethodDefinition] = [contracts, rates, slaTerms]

    static let contractReference = Schema.Field(
        "contract_reference", .string(minLength: 1, maxLength: 100), "the contract, by its reference")

    static let contracts = BulkImport.method(
        "contract.import",
        summary: "Many contracts at once (engagementctl import contracts FILE.csv), naming the customer by external_ref: a report per row; a contract whose reference exists is skipped.",
        columns: [.init("customer_ref", .string(minLength: 1, maxLength: 100), "the customer, by its party's external_ref")]
            + ContractMethods.create.params.filter { !["customer_party_id", DomainSupport.idempotencyField.name].contains($0.name) },
        access: .role(.manager), function: "api.contract_import")

    static let rates = BulkImport.method(
        "contract.import_rates",
        summary: "Many rate overrides at once (engagementctl import contract-rates FILE.csv), one row per contract and rate-card line: a report per row (its id is the contract's); a line the contract already has is skipped, not overwritten.",
        columns: [contractReference] + ContractTermMethods.setRate.params.filter { $0.name != "id" },
        access: .role(.manager), function: "api.contract_import_rates")

    static let slaTerms = BulkImport.method(
        "contract.import_sla_terms",
        summary: "Many SLA terms at once (engagementctl import sla-terms FILE.csv), one row per term, the penalty as contract.add_sla_term's JSON object: a report per row (its id is the contract's); a term for a metric and measurement period the contract already has is skipped.",
        columns: [contractReference] + ContractTermMethods.addSLATerm.params.filter { !["id", DomainSupport.idempotencyField.name].contains($0.name) },
        access: .role(.manager), function: "api.contract_import_sla_terms")

}

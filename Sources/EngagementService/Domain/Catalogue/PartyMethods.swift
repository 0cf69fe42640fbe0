import JSONRPC

/// Parties: customers and delivery partners of an organisation, plus the organisation itself (kind `self`,
/// read-only). Read by every role, written by managers and admins. The work: `SQL/definitions/0110_api_parties.sql`.
enum PartyMethods {
    static let writableKinds = ["customer", "delivery_partner"]

    static let party = Schema.object([
        .init("id", .uuid, "the party"),
        .init("kind", .enumeration(writableKinds + ["self"]), "customer, delivery_partner, or self (the organisation)"),
        .init("name", .string(), "display name"),
        .init("external_ref", .nullable(.string()), "your reference"),
        .init("archived", .boolean, "archived parties are hidden from lists unless asked for"),
        .init("archived_at", .nullable(.string(format: "date-time")), "when it was archived"),
        .init("version", .integer(minimum: 1), "row version, for optimistic concurrency"),
        .init("created_at", .string(format: "date-time"), "created"),
        .init("updated_at", .string(format: "date-time"), "last changed"),
    ])

    static let create = MethodDefinition(
        "party.create", summary: "Create a customer or delivery partner.",
        params: [
            .init("name", .string(minLength: 1, maxLength: 200), "display name"),
            .init("kind", .enumeration(writableKinds), "customer or delivery_partner"),
            .init("external_ref", .string(minLength: 1, maxLength: 100), required: false, "your reference (unique per organisation)"),
            DomainSupport.idempotencyField,
        ],
        result: party, access: .role(.manager), function: "api.party_create")

    static let all: [MethodDefinition] = [
        create,
        BulkImport.method(
            "party.import",
            summary: "Many parties at once (engagementctl import parties FILE.csv): a report per row; a party whose external_ref exists is skipped.",
            create: create, function: "api.party_import"),

        MethodDefinition(
            "party.get", summary: "One party by id.",
            params: [.init("id", .uuid, "the party")], result: party, access: .role(.viewer), function: "api.party_get"),

        MethodDefinition(
            "party.update",
            summary: "Change a party; send the version you read (a stale one gets -32004). archived: true archives it.",
            params: [
                .init("id", .uuid, "the party"),
                .init("version", .integer(minimum: 1), "the version you last read"),
                .init("name", .string(minLength: 1, maxLength: 200), required: false, "new name"),
                .init("kind", .enumeration(writableKinds), required: false, "new kind"),
                .init("external_ref", .nullable(.string(minLength: 1, maxLength: 100)), required: false, "new reference; null clears it"),
                .init("archived", .boolean, required: false, "archive (true) or restore (false)"),
            ],
            result: party, access: .role(.manager), function: "api.party_update"),

        MethodDefinition(
            "party.delete",
            summary: "Delete a party nothing refers to (otherwise -32004: archive it with party.update instead).",
            params: [.init("id", .uuid, "the party"), .init("version", .integer(minimum: 1), "the version you last read")],
            result: DomainSupport.deleted, access: .role(.manager), function: "api.party_delete"),

        MethodDefinition(
            "party.list",
            summary: "Parties, filtered and sorted, one page at a time (keyset pagination; archived ones only when asked).",
            params: [
                .init("kind", .enumeration(writableKinds + ["self"]), required: false, "only this kind"),
                .init("q", .string(minLength: 1, maxLength: 200), required: false, "text in name or external_ref"),
                .init("include_archived", .boolean, required: false, "also archived parties (default false)"),
            ] + DomainSupport.listFields,
            result: DomainSupport.page(of: party), access: .role(.viewer), function: "api.party_list"),
    ]
}

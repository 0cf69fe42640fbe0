import Foundation
import JSONRPC
import PostgresClient

/// Parties: customers and delivery partners of an organisation, plus the organisation itself (kind `self`,
/// read-only). Read by every role, written by managers and admins (checked here and by RLS policies).
enum PartyMethods {
    static let writableKinds = ["customer", "delivery_partner"]
    static let party = Schema.any(description: "a party: {id, kind, name, external_ref, archived, archived_at, version, created_at, updated_at}")

    static let references = ["parties_external_ref_unique": "params.external_ref"]

    static let all: [MethodDefinition] = [create, get, update, delete, list]

    static let create = MethodDefinition(
        "party.create", summary: "Create a customer or delivery partner.",
        params: [
            .init("name", .string(minLength: 1, maxLength: 200), "display name"),
            .init("kind", .enumeration(writableKinds), "customer or delivery_partner"),
            .init("external_ref", .string(minLength: 1, maxLength: 100), required: false, "your reference (unique per organisation)"),
            DomainSupport.idempotencyField,
        ],
        result: party, access: .role(.manager)
    ) { context, params throws(RPCError) in
        try await context.jsonOfLast(
            DomainSQL.idempotentCreate(
                table: "parties", method: "party.create", columns: ["kind", "name", "external_ref"],
                values: ["$4", "btrim($5)", "$6"], render: "party_json", params: params,
                parameters: [params.string("kind"), params.string("name"), params.string("external_ref")]),
            references: references)
    }

    static let get = MethodDefinition(
        "party.get", summary: "One party by id.",
        params: [.init("id", .uuid, "the party")], result: party, access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(DomainSQL.get(table: "parties", render: "party_json"), [params.string("id")]))
    }

    static let update = MethodDefinition(
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
        result: party, access: .role(.manager)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let result = try await context.run([Statement(
            DomainSQL.versionedUpdate(
                table: "parties",
                assignments: [
                    "name = coalesce(btrim($3), row.name)",
                    "kind = coalesce($4, row.kind)",
                    DomainSQL.settable("external_ref", flag: 5, cast: "text"),
                    DomainSQL.toggledTimestamp("archived_at", parameter: 7),
                ],
                render: "party_json", extra: "row.kind"),
            [params.string("id"), version, params.string("name"), params.string("kind"),
             params.value("external_ref") != nil, params.string("external_ref"), params.bool("archived")])],
            references: references)[0]
        try refuseSelf(result)
        return try DomainSupport.versionedWrite(result, requestedVersion: version)
    }

    static let delete = MethodDefinition(
        "party.delete",
        summary: "Delete a party nothing refers to (otherwise -32004: archive it with party.update instead).",
        params: [.init("id", .uuid, "the party"), .init("version", .integer(minimum: 1), "the version you last read")],
        result: .any(description: "{id, deleted: true}"), access: .role(.manager)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let result = try await context.run([Statement(
            DomainSQL.versionedDelete(table: "parties", extra: "row.kind"), [params.string("id"), version])])[0]
        try refuseSelf(result)
        return try DomainSupport.versionedWrite(result, requestedVersion: version)
    }

    static let list = MethodDefinition(
        "party.list",
        summary: "Parties, filtered and sorted, one page at a time (keyset pagination; archived ones only when asked).",
        params: [
            .init("kind", .enumeration(writableKinds + ["self"]), required: false, "only this kind"),
            .init("q", .string(minLength: 1, maxLength: 200), required: false, "text in name or external_ref"),
            .init("include_archived", .boolean, required: false, "also archived parties (default false)"),
        ] + DomainSupport.listFields,
        result: .any(description: "{items: [party], next_cursor: string or null}"), access: .role(.viewer)
    ) { context, params throws(RPCError) in
        let page = try DomainSupport.page(params)
        return try await context.json(Statement(
            DomainSQL.list(
                table: "parties", render: "party_json",
                filters: [
                    "($1::text IS NULL OR row.kind = $1)",
                    "($2::text IS NULL OR row.name ILIKE $2 OR row.external_ref ILIKE $2)",
                    "($3::boolean OR row.archived_at IS NULL)",
                ],
                filterParameters: 3, page: page),
            [params.string("kind"), params.string("q").map(DomainSupport.containsPattern), params.bool("include_archived") ?? false, page.after?.key,
             page.after?.id, page.limit]))
    }

    /// The organisation's own party is maintained from the organisation itself.
    private static func refuseSelf(_ result: PostgresResult) throws(RPCError) {
        if result.string(0, 2) == "self" {
            throw RPCError(
                .forbidden, "Forbidden: the organisation's own party cannot be changed or deleted", reason: "self_party")
        }
    }
}

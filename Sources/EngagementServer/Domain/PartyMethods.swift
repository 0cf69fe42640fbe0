import Foundation
import JSONRPC
import PostgresClient

/// Parties: customers and delivery partners of an organisation, plus the organisation itself (kind `self`,
/// read-only). Read by every role, written by managers and admins (checked here and by RLS policies).
enum PartyMethods {
    static let writableKinds = ["customer", "delivery_partner"]
    static let party = Schema.any(description: "a party: {id, kind, name, external_ref, archived, archived_at, version, created_at, updated_at}")

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
        try await context.json(Statement(
            """
            WITH replay AS (SELECT app.idempotent_replay($1, 'party.create', $2) AS response),
            created AS (
                INSERT INTO app.parties AS p (organisation_id, kind, name, external_ref, created_by, updated_by)
                SELECT app.current_organisation_id(), $3, btrim($4), $5, app.current_user_id(), app.current_user_id()
                WHERE (SELECT response FROM replay) IS NULL
                RETURNING app.party_json(p) AS body),
            remembered AS (
                INSERT INTO app.idempotency_keys (organisation_id, key, method, request_hash, response)
                SELECT app.current_organisation_id(), $1, 'party.create', $2, body FROM created WHERE $1::text IS NOT NULL)
            SELECT coalesce((SELECT response FROM replay), (SELECT body FROM created))
            """,
            [params.string("idempotency_key"), DomainSupport.requestHash(params), params.string("kind"),
             params.string("name"), params.string("external_ref")]))
    }

    static let get = MethodDefinition(
        "party.get", summary: "One party by id.",
        params: [.init("id", .uuid, "the party")], result: party, access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(
            "SELECT app.party_json(p) FROM app.parties p WHERE p.organisation_id = app.current_organisation_id() AND p.id = $1::uuid",
            [params.string("id")]))
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
            """
            WITH current AS (
                SELECT version, kind FROM app.parties WHERE organisation_id = app.current_organisation_id() AND id = $1::uuid),
            updated AS (
                UPDATE app.parties AS p SET
                    name = coalesce(btrim($3), p.name),
                    kind = coalesce($4, p.kind),
                    external_ref = CASE WHEN $5::boolean THEN $6 ELSE p.external_ref END,
                    archived_at = CASE WHEN $7::boolean IS NULL THEN p.archived_at
                                       WHEN $7::boolean THEN coalesce(p.archived_at, now()) END
                WHERE p.organisation_id = app.current_organisation_id() AND p.id = $1::uuid AND p.version = $2
                RETURNING app.party_json(p) AS body)
            SELECT (SELECT body FROM updated), (SELECT version FROM current), (SELECT kind FROM current)
            """,
            [params.string("id"), version, params.string("name"), params.string("kind"),
             params.value("external_ref") != nil, params.string("external_ref"), params.bool("archived")])])[0]
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
            """
            WITH current AS (
                SELECT version, kind FROM app.parties WHERE organisation_id = app.current_organisation_id() AND id = $1::uuid),
            deleted AS (
                DELETE FROM app.parties p
                WHERE p.organisation_id = app.current_organisation_id() AND p.id = $1::uuid AND p.version = $2
                RETURNING jsonb_build_object('id', p.id, 'deleted', true) AS body)
            SELECT (SELECT body FROM deleted), (SELECT version FROM current), (SELECT kind FROM current)
            """, [params.string("id"), version])])[0]
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
        let pattern = params.string("q").map { "%" + escapeLike($0) + "%" }
        return try await context.json(Statement(
            """
            WITH page AS (
                SELECT party, row_number() OVER (ORDER BY (party).\(page.column) \(page.direction), (party).id \(page.direction)) AS n
                FROM (
                    SELECT p AS party FROM app.parties p
                    WHERE p.organisation_id = app.current_organisation_id()
                      AND ($1::text IS NULL OR p.kind = $1)
                      AND ($2::text IS NULL OR p.name ILIKE $2 OR p.external_ref ILIKE $2)
                      AND ($3::boolean OR p.archived_at IS NULL)
                      AND ($4::text IS NULL OR (p.\(page.column), p.id) \(page.comparison) ($4::\(page.keyType), $5::uuid))
                    ORDER BY p.\(page.column) \(page.direction), p.id \(page.direction)
                    LIMIT $6::int + 1) rows)
            SELECT jsonb_build_object(
                'items', coalesce((SELECT jsonb_agg(app.party_json(party) ORDER BY n) FROM page WHERE n <= $6::int), '[]'::jsonb),
                'next_cursor', (SELECT \(DomainSupport.cursorExpression(page, row: "party")) FROM page
                                WHERE n = $6::int AND EXISTS (SELECT FROM page WHERE n = $6::int + 1)))
            """,
            [params.string("kind"), pattern, params.bool("include_archived") ?? false, page.after?.key,
             page.after?.id, page.limit]))
    }

    /// The organisation's own party is maintained from the organisation itself.
    private static func refuseSelf(_ result: PostgresResult) throws(RPCError) {
        if result.string(0, 2) == "self" {
            throw RPCError(
                .forbidden, "Forbidden: the organisation's own party cannot be changed or deleted", reason: "self_party")
        }
    }

    /// Escapes LIKE wildcards so a search for "50%" means the text "50%".
    static func escapeLike(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
    }
}

import Foundation
import JSONRPC
import PostgresClient
import Credentials

/// Users of the organisation and their API keys. Everyone may list users (to pick owners); only admins
/// create, change, disable users and issue or revoke keys. An organisation always keeps an active admin.
enum UserMethods {
    static let user = Schema.any(
        description: "a user: {id, email, display_name, role, disabled, disabled_at, version, created_at, updated_at}")
    static let roles = Schema.enumeration(OrganisationRole.allCases.map(\.rawValue))
    static let references = ["users_email_unique": "params.email"]
    static let all: [MethodDefinition] = [create, get, update, list, createKey, getKey, updateKey, listKeys, revokeKey]

    /// The JSON of a key's metadata (never the key or its hash), for the row `k` joined with its user `u`.
    static let keyJSON = """
        jsonb_build_object('id', k.id, 'key_id', k.key_id, 'user_id', k.user_id, 'email', u.email, 'label', k.label,
                           'created_at', k.created_at, 'revoked_at', k.revoked_at)
        """

    static let create = MethodDefinition(
        "user.create", summary: "Add a user to the organisation (email unique, case-insensitive).",
        params: [
            .init("email", .string(minLength: 3, maxLength: 320, pattern: "[^@\\s]+@[^@\\s]+"), "email address"),
            .init("display_name", .string(minLength: 1, maxLength: 200), "name shown to others"),
            .init("role", roles, "viewer, member, manager or admin"),
            DomainSupport.idempotencyField,
        ],
        result: user, access: .role(.admin)
    ) { context, params throws(RPCError) in
        try await context.jsonOfLast(DomainSQL.idempotentCreate(
            table: "users", method: "user.create", columns: ["email", "display_name", "role"],
            values: ["btrim($4)", "btrim($5)", "$6"], render: "user_json", params: params,
            parameters: [params.string("email"), params.string("display_name"), params.string("role")]),
            references: references)
    }

    static let get = MethodDefinition(
        "user.get", summary: "One user by id.",
        params: [.init("id", .uuid, "the user")], result: user, access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(DomainSQL.get(table: "users", render: "user_json"), [params.string("id")]))
    }

    static let update = MethodDefinition(
        "user.update",
        summary: "Change a user's name or role, or disable (its keys stop working at once) or re-enable it.",
        params: [
            .init("id", .uuid, "the user"),
            .init("version", .integer(minimum: 1), "the version you last read"),
            .init("display_name", .string(minLength: 1, maxLength: 200), required: false, "new name"),
            .init("role", roles, required: false, "new role"),
            .init("disabled", .boolean, required: false, "disable (true) or enable (false)"),
        ],
        result: user, access: .role(.admin)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let result = try await context.run([Statement(
            DomainSQL.versionedUpdate(
                table: "users",
                assignments: [
                    "display_name = coalesce(btrim($3), row.display_name)",
                    "role = coalesce($4, row.role)",
                    DomainSQL.toggledTimestamp("disabled_at", parameter: 5),
                ],
                render: "user_json"),
            [params.string("id"), version, params.string("display_name"), params.string("role"), params.bool("disabled")])])[0]
        return try DomainSupport.versionedWrite(result, requestedVersion: version)
    }

    static let list = MethodDefinition(
        "user.list",
        summary: "The organisation's users, one page at a time (sort name is the display name; disabled ones only when asked).",
        params: [
            .init("role", roles, required: false, "only this role"),
            .init("q", .string(minLength: 1, maxLength: 200), required: false, "text in name or email"),
            .init("include_disabled", .boolean, required: false, "also disabled users (default false)"),
        ] + DomainSupport.listFields,
        result: .any(description: "{items: [user], next_cursor: string or null}"), access: .role(.viewer)
    ) { context, params throws(RPCError) in
        let page = try DomainSupport.page(params)
        return try await context.json(Statement(
            DomainSQL.list(
                table: "users", render: "user_json",
                filters: [
                    "($1::text IS NULL OR row.role = $1)",
                    "($2::text IS NULL OR row.display_name ILIKE $2 OR row.email ILIKE $2)",
                    "($3::boolean OR row.disabled_at IS NULL)",
                ],
                filterParameters: 3, page: page, sortColumns: ["name": "display_name"]),
            [params.string("role"), params.string("q").map(DomainSupport.containsPattern),
             params.bool("include_disabled") ?? false, page.after?.key, page.after?.id, page.limit]))
    }

    static let createKey = MethodDefinition(
        "api_key.create", summary: "Issue an API key for a user; the key is in this reply only (stored as a hash).",
        params: [
            .init("user_id", .uuid, "whose key"),
            .init("label", .string(maxLength: 200), required: false, "to recognise the key by"),
        ],
        result: .any(description: "{id, key_id, key, user_id, label}"), access: .role(.admin)
    ) { context, params throws(RPCError) in
        let key = APIKey.generate()
        let result = try await context.run(
            [Statement(
                """
                INSERT INTO app.api_keys (organisation_id, user_id, key_id, key_hash, label)
                SELECT app.current_organisation_id(), u.id, $2, $3::bytea, coalesce($4, '')
                FROM app.users u
                WHERE u.organisation_id = app.current_organisation_id() AND u.id = $1::uuid AND u.disabled_at IS NULL
                RETURNING id
                """,
                [params.string("user_id"), key.keyID, ByteaParameter(key.hash), params.string("label")])])[0]
        guard let id = result.uuid(0, 0) else {
            throw RPCError.invalidParams([FieldProblem(path: "params.user_id", message: "does not exist or is disabled")])
        }
        context.logger.info("api key issued", metadata: ["key": "\(key)"])
        return .result(.object([
            "id": .string(id.uuidString.lowercased()), "key_id": .string(key.keyID), "key": .string(key.text),
            "user_id": .string(params.requiredString("user_id")), "label": .string(params.string("label") ?? ""),
        ]))
    }

    static let listKeys = MethodDefinition(
        "api_key.list", summary: "The organisation's API keys (never their secrets), newest first.",
        params: [.init("user_id", .uuid, required: false, "only this user's keys")],
        result: .any(description: "[{id, key_id, user_id, email, label, created_at, revoked_at}]"), access: .role(.admin)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(
            """
            SELECT coalesce(jsonb_agg(\(keyJSON) ORDER BY k.created_at DESC), '[]'::jsonb)
            FROM app.api_keys k
            JOIN app.users u ON u.organisation_id = k.organisation_id AND u.id = k.user_id
            WHERE k.organisation_id = app.current_organisation_id() AND ($1::uuid IS NULL OR k.user_id = $1::uuid)
            """, [params.string("user_id")]))
    }

    static let getKey = MethodDefinition(
        "api_key.get", summary: "One API key's metadata (never the key or its hash).",
        params: [.init("id", .uuid, "the key's id (not its key_id)")],
        result: .any(description: "{id, key_id, user_id, email, label, created_at, revoked_at}"), access: .role(.admin)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(
            """
            SELECT \(keyJSON) FROM app.api_keys k
            JOIN app.users u ON u.organisation_id = k.organisation_id AND u.id = k.user_id
            WHERE k.organisation_id = app.current_organisation_id() AND k.id = $1::uuid
            """, [params.string("id")]))
    }

    static let updateKey = MethodDefinition(
        "api_key.update", summary: "Relabel an API key.",
        params: [.init("id", .uuid, "the key's id"), .init("label", .string(maxLength: 200), "the new label")],
        result: .any(description: "{id, key_id, user_id, email, label, created_at, revoked_at}"), access: .role(.admin)
    ) { context, params throws(RPCError) in
        try await context.jsonOfLast([
            Statement(
                "UPDATE app.api_keys SET label = $2 WHERE organisation_id = app.current_organisation_id() AND id = $1::uuid",
                [params.string("id"), params.string("label")]),
            Statement(
                """
                SELECT \(keyJSON) FROM app.api_keys k
                JOIN app.users u ON u.organisation_id = k.organisation_id AND u.id = k.user_id
                WHERE k.organisation_id = app.current_organisation_id() AND k.id = $1::uuid
                """, [params.string("id")]),
        ])
    }

    static let revokeKey = MethodDefinition(
        "api_key.revoke", summary: "Revoke an API key; sessions using it fail from their next call.",
        params: [.init("id", .uuid, "the key's id (not its key_id)")],
        result: .any(description: "{id, revoked_at}"), access: .role(.admin)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(
            """
            UPDATE app.api_keys SET revoked_at = coalesce(revoked_at, now())
            WHERE organisation_id = app.current_organisation_id() AND id = $1::uuid
            RETURNING jsonb_build_object('id', id, 'revoked_at', revoked_at)
            """, [params.string("id")]))
    }
}

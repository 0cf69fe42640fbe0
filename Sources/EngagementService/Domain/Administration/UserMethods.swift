import Credentials
import JSONRPC

/// Users of the organisation and their API keys. Everyone may list users (to pick owners); only admins
/// create, change, disable users and issue or revoke keys. An organisation always keeps an active admin. The
/// work: `SQL/definitions/0130_api_administration.sql`; the server only makes a new key (shown once).
enum UserMethods {
    static let roles = Schema.enumeration(OrganisationRole.allCases.map(\.rawValue))
    static let user = Schema.object([
        .init("id", .uuid, "the user"),
        .init("email", .string(), "email address, unique per organisation (case-insensitive)"),
        .init("display_name", .string(), "name shown to others"),
        .init("role", roles, "viewer, member, manager or admin"),
        .init("disabled", .boolean, "a disabled user's keys do not work"),
        .init("disabled_at", .nullable(.string(format: "date-time")), "when it was disabled"),
        .init("version", .integer(minimum: 1), "row version, for optimistic concurrency"),
        .init("created_at", .string(format: "date-time"), "created"),
        .init("updated_at", .string(format: "date-time"), "last changed"),
    ])
    static let key = Schema.object([
        .init("id", .uuid, "the key's id"), .init("key_id", .string(), "the public part of the key"),
        .init("user_id", .uuid, "whose key"), .init("email", .string(), "the user's email"),
        .init("label", .string(), "to recognise the key by"),
        .init("created_at", .string(format: "date-time"), "issued"),
        .init("revoked_at", .nullable(.string(format: "date-time")), "when it was revoked"),
    ])

    static let all: [MethodDefinition] = [create, get, update, list, createKey, getKey, updateKey, listKeys, revokeKey]

    static let create = MethodDefinition(
        "user.create", summary: "Add a user to the organisation (email unique, case-insensitive).",
        params: [
            .init("email", .string(minLength: 3, maxLength: 320, pattern: "[^@\\s]+@[^@\\s]+"), "email address"),
            .init("display_name", .string(minLength: 1, maxLength: 200), "name shown to others"),
            .init("role", roles, "viewer, member, manager or admin"),
            DomainSupport.idempotencyField,
        ],
        result: user, access: .role(.admin),
        function: "api.user_create")

    static let get = MethodDefinition(
        "user.get", summary: "One user by id.",
        params: [.init("id", .uuid, "the user")], result: user, access: .role(.viewer),
        function: "api.user_get")

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
        result: user, access: .role(.admin),
        function: "api.user_update")

    static let list = MethodDefinition(
        "user.list",
        summary: "The organisation's users, one page at a time (sort name is the display name; disabled ones only when asked).",
        params: [
            .init("role", roles, required: false, "only this role"),
            .init("q", .string(minLength: 1, maxLength: 200), required: false, "text in name or email"),
            .init("include_disabled", .boolean, required: false, "also disabled users (default false)"),
        ] + DomainSupport.listFields,
        result: DomainSupport.page(of: user), access: .role(.viewer),
        function: "api.user_list")

    static let createKey = MethodDefinition(
        "api_key.create", summary: "Issue an API key for a user; the key is in this reply only (stored as a hash).",
        params: [
            .init("user_id", .uuid, "whose key"),
            .init("label", .string(maxLength: 200), required: false, "to recognise the key by"),
        ],
        result: .object([
            .init("id", .uuid, "the key's id"), .init("key_id", .string(), "the public part of the key"),
            .init("key", .string(), "the key: shown here only"), .init("user_id", .uuid, "whose key"),
            .init("label", .string(), "its label"),
        ]),
        access: .role(.admin)
    ) { context, params throws(RPCError) in
        // The key is made here, from the system's CSPRNG; the database gets its public id and SHA-256 only.
        let key = APIKey.generate()
        var augmented = params.values
        augmented["key_id"] = .string(key.keyID)
        augmented["key_sha256"] = .string(key.hashHex)
        var reply = try await context.call("api.api_key_create", with: augmented).objectValue ?? [:]
        reply["key"] = .string(key.text)
        context.logger.info("api key issued", metadata: ["key": "\(key)"])
        return .result(.object(reply))
    }

    static let listKeys = MethodDefinition(
        "api_key.list", summary: "The organisation's API keys (never their secrets), newest first.",
        params: [.init("user_id", .uuid, required: false, "only this user's keys")],
        result: .array(items: key), access: .role(.admin),
        function: "api.api_key_list")

    static let getKey = MethodDefinition(
        "api_key.get", summary: "One API key's metadata (never the key or its hash).",
        params: [.init("id", .uuid, "the key's id (not its key_id)")],
        result: key, access: .role(.admin),
        function: "api.api_key_get")

    static let updateKey = MethodDefinition(
        "api_key.update", summary: "Relabel an API key.",
        params: [.init("id", .uuid, "the key's id"), .init("label", .string(maxLength: 200), "the new label")],
        result: key, access: .role(.admin),
        function: "api.api_key_update")

    static let revokeKey = MethodDefinition(
        "api_key.revoke", summary: "Revoke an API key; sessions using it fail from their next call.",
        params: [.init("id", .uuid, "the key's id (not its key_id)")],
        result: .object([.init("id", .uuid, "the key's id"), .init("revoked_at", .string(format: "date-time"), "when it was revoked")]), access: .role(.admin),
        function: "api.api_key_revoke")
}

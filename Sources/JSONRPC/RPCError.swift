/// The closed set of error codes this server sends. The -32700…-32603 codes are JSON-RPC 2.0's own;
/// -32001…-32007 are this server's, documented in docs/protocol.md. Nothing else is ever sent.
public enum RPCErrorCode: Int, Sendable, CaseIterable {
    case parseError = -32700
    case invalidRequest = -32600
    case methodNotFound = -32601
    case invalidParams = -32602
    case internalError = -32603
    /// The method needs an authenticated session (`session.authenticate` first), or the key was refused.
    case unauthenticated = -32001
    /// The session's role may not call this method.
    case forbidden = -32002
    /// The entity does not exist in the caller's organisation (also when it exists in another one).
    case notFound = -32003
    /// A uniqueness rule, a stale version or a concurrent change refused the write.
    case conflict = -32004
    /// A limit was reached (in-flight requests, connections, database pool); retry after `retry_after_ms`.
    case overCapacity = -32005
    /// The service cannot answer now (database unreachable, shutting down); retry later.
    case unavailable = -32006
    /// The entity's current state does not allow this (an illegal lifecycle transition, a missing prerequisite).
    case invalidState = -32007

    /// The message that goes with the code when nothing more specific is said.
    public var defaultMessage: String {
        switch self {
        case .parseError: "Parse error"
        case .invalidRequest: "Invalid Request"
        case .methodNotFound: "Method not found"
        case .invalidParams: "Invalid params"
        case .internalError: "Internal error"
        case .unauthenticated: "Unauthenticated"
        case .forbidden: "Forbidden"
        case .notFound: "Not found"
        case .conflict: "Conflict"
        case .overCapacity: "Over capacity"
        case .unavailable: "Unavailable, retry later"
        case .invalidState: "Invalid state"
        }
    }
}

/// One problem with one field of the params, addressed by a path such as `params.api_key` or `params[0]`.
public struct FieldProblem: Sendable, Hashable {
    public let path: String
    public let message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
}

/// An error reply. `data` always has the same shape:
/// `{"reason": "<snake_case>", "fields": [{"path", "message"}]?, "retry_after_ms": n?, "limit": n?}`.
public struct RPCError: Error, Sendable, Hashable {
    public let code: RPCErrorCode
    public let message: String
    public let reason: String
    public let fields: [FieldProblem]
    public let retryAfterMilliseconds: Int?
    public let limit: Int?

    public init(
        _ code: RPCErrorCode, _ message: String? = nil, reason: String, fields: [FieldProblem] = [],
        retryAfterMilliseconds: Int? = nil, limit: Int? = nil
    ) {
        self.code = code
        self.message = message ?? code.defaultMessage
        self.reason = reason
        self.fields = fields
        self.retryAfterMilliseconds = retryAfterMilliseconds
        self.limit = limit
    }

    public var json: JSONValue {
        var data: JSONObject = ["reason": .string(reason)]
        if !fields.isEmpty {
            data["fields"] = .array(fields.map { .object(["path": .string($0.path), "message": .string($0.message)]) })
        }
        if let retryAfterMilliseconds { data["retry_after_ms"] = .number(String(retryAfterMilliseconds)) }
        if let limit { data["limit"] = .number(String(limit)) }
        return .object(["code": .number(String(code.rawValue)), "message": .string(message), "data": .object(data)])
    }

    public static func invalidParams(_ fields: [FieldProblem]) -> RPCError {
        RPCError(.invalidParams, reason: "invalid_params", fields: fields)
    }
}

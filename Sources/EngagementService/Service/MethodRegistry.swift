import JSONRPC
import Logging
import PostgresClient

/// What a method handler gets: who calls, how to reach the database, and a logger carrying the request id.
public struct CallContext: Sendable {
    public let method: String
    public let session: Session
    public let database: TenantDatabase
    public let logger: Logger
    public let requestID: String
    /// Event subscriptions, where the server offers them.
    public var events: EventHub? = nil
    /// The authentication throttle, where the server has one.
    public var authentication: AuthenticationGuard? = nil

    /// The principal; the dispatcher only calls handlers of authenticated methods once there is one.
    public var principal: Principal {
        guard let principal = session.principal else { preconditionFailure("handler of an authenticated method ran without a principal") }
        return principal
    }

    /// Calls an api function with params the handler made (the declared params plus what only the server can
    /// make, such as a key's hash) and returns its reply parsed, for a handler that adds to it.
    public func call(_ function: SQLFunctionName, with params: JSONObject, untimed: Bool = false) async throws(RPCError) -> JSONValue {
        let body = try await database.call(
            as: principal, method: method, requestID: requestID, function: function, params: JSONWriter.encode(.object(params)),
            untimed: untimed)
        guard case .result(let bytes) = body, let reply = try? JSONParser.parse(bytes) else {
            throw RPCError(.internalError, reason: "internal_error")
        }
        return reply
    }
}

/// One method, declared once: name, documentation, params schema, result schema, who may call it, and its
/// handler. The dispatcher enforces access and params; `rpc.discover` renders the same declaration.
public struct MethodDefinition: Sendable {
    public enum Access: Sendable, Equatable {
        /// Callable before authentication.
        case anonymous
        /// Needs an authenticated session whose role is at least this one.
        case role(OrganisationRole)
    }

    public typealias Handler = @Sendable (CallContext, ParamReader) async throws(RPCError) -> ResponseBody

    public let name: String
    public let summary: String
    public let params: [Schema.Field]
    public let result: Schema
    public let access: Access
    /// A barrier method runs alone: the connection finishes everything in flight first and reads nothing
    /// new until it is done, so `session.authenticate` followed by pipelined calls behaves as written.
    public let isBarrier: Bool
    public let handler: Handler
    /// The SQL function behind a domain method declared with one (nil: the handler is Swift).
    public internal(set) var function: SQLFunctionName?

    public init(
        _ name: String, summary: String, params: [Schema.Field] = [], result: Schema, access: Access,
        isBarrier: Bool = false, handler: @escaping Handler
    ) {
        self.name = name
        self.summary = summary
        self.params = params
        self.result = result
        self.access = access
        self.isBarrier = isBarrier
        self.handler = handler
    }
}

/// The SQL function that owns a domain method's operation: `api.<entity>_<verb>(p jsonb) RETURNS jsonb`
/// (`SQL/definitions/01xx_api_*.sql`). Only names of that shape are accepted, so the one statement the database
/// runner builds from it, `SELECT api.x($1::jsonb)`, can hold nothing else.
public struct SQLFunctionName: Sendable, Hashable, ExpressibleByStringLiteral {
    public let qualifiedName: String

    public init(stringLiteral name: String) {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        precondition(
            parts.count == 2 && parts[0] == "api" && !parts[1].isEmpty
                && parts[1].allSatisfy { ($0 >= "a" && $0 <= "z") || $0 == "_" },
            "\(name) is not an api function name")
        qualifiedName = name
    }
}

extension MethodDefinition {
    /// A domain method: the declaration, and the SQL function that does all of its work. The server checks
    /// access and params against the declaration, then calls the function with the params; its reply is the
    /// result.
    public init(
        _ name: String, summary: String, params: [Schema.Field] = [], result: Schema, access: Access,
        function: SQLFunctionName
    ) {
        let fromReplica = ReplicaRoute.serves(name, result: result)
        self.init(name, summary: summary, params: params, result: fromReplica ? Self.withServedBy(result) : result, access: access) {
            context, params throws(RPCError) in
            try await context.database.call(
                as: context.principal, method: context.method, requestID: context.requestID, function: function,
                params: JSONWriter.encode(.object(params.values)), fromReplica: fromReplica)
        }
        self.function = function
    }

    /// A report's result may say which database answered it (`ReplicaRoute`).
    static func withServedBy(_ result: Schema) -> Schema {
        guard case .object(let fields, let additional) = result else { return result }
        return .object(
            [.init("served_by", .enumeration(["primary", "replica"]), required: false,
                   "which database answered, when the server has a read replica (ENGAGEMENT_REPLICA_DATABASE_URL)")] + fields,
            additionalProperties: additional)
    }
}

/// Every method the server knows, by name.
public struct MethodRegistry: Sendable {
    public private(set) var methods: [String: MethodDefinition] = [:]
    /// Declaration order, for a stable `rpc.discover` document.
    public private(set) var names: [String] = []

    public init(_ definitions: [MethodDefinition] = []) {
        for definition in definitions { register(definition) }
    }

    public mutating func register(_ definition: MethodDefinition) {
        precondition(methods[definition.name] == nil, "method \(definition.name) declared twice")
        methods[definition.name] = definition
        names.append(definition.name)
    }

    public subscript(name: String) -> MethodDefinition? { methods[name] }

    public var definitions: [MethodDefinition] { names.compactMap { methods[$0] } }
}

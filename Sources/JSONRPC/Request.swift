/// A request id: JSON-RPC allows a string, a number or null. Numbers keep their exact lexeme.
public enum RequestID: Sendable, Hashable {
    case string(String)
    case number(String)
    case null

    public var json: JSONValue {
        switch self {
        case .string(let s): .string(s)
        case .number(let n): .number(n)
        case .null: .null
        }
    }
}

/// The params of a call: by name (an object) or by position (an array), or none.
public enum RequestParams: Sendable, Hashable {
    case none
    case byName(JSONObject)
    case byPosition([JSONValue])
}

/// A valid request object. `id == nil` means a notification: it is executed but never answered.
public struct Request: Sendable, Hashable {
    public let id: RequestID?
    public let method: String
    public let params: RequestParams

    public init(id: RequestID?, method: String, params: RequestParams = .none) {
        self.id = id
        self.method = method
        self.params = params
    }

    public var isNotification: Bool { id == nil }
}

/// One element of an incoming message: a request, or an invalid request object that gets an error reply
/// (with its id when the id itself was readable, else null).
public enum RequestEntry: Sendable, Hashable {
    case request(Request)
    case invalid(id: RequestID, error: RPCError)
}

/// What one line decodes to.
public enum IncomingMessage: Sendable, Hashable {
    case single(RequestEntry)
    case batch([RequestEntry])
    /// A line that gets exactly one error reply and nothing else (parse error, empty batch).
    case rejected(RPCError)

    /// Decodes one line (without its line terminator) according to JSON-RPC 2.0.
    public static func decode(line: [UInt8], maximumDepth: Int = JSONParser.defaultMaximumDepth) -> IncomingMessage {
        let value: JSONValue
        do {
            value = try JSONParser.parse(line, maximumDepth: maximumDepth)
        } catch {
            return .rejected(RPCError(.parseError, "Parse error: \(error)", reason: "invalid_json"))
        }
        switch value {
        case .array(let elements):
            guard !elements.isEmpty else {
                return .rejected(RPCError(.invalidRequest, "Invalid Request: empty batch", reason: "empty_batch"))
            }
            return .batch(elements.map(RequestEntry.init(validating:)))
        default:
            return .single(RequestEntry(validating: value))
        }
    }
}

extension RequestEntry {
    /// Applies every rule of the Request object: `jsonrpc` exactly "2.0", `method` a string, `params` an
    /// object or array when present, `id` a string, number or null when present, and no other members.
    public init(validating value: JSONValue) {
        guard case .object(let object) = value else {
            self = .invalid(id: .null, error: Self.invalid("a request must be an object, not \(value.typeName)"))
            return
        }
        var id: RequestID? = nil
        switch object["id"] {
        case nil: id = nil
        case .string(let s)?: id = .string(s)
        case .number(let n)?: id = .number(n)
        case .null?: id = .null
        case let other?:
            self = .invalid(id: .null, error: Self.invalid("id must be a string, number or null, not \(other.typeName)"))
            return
        }
        let replyID = id ?? .null
        guard object["jsonrpc"] == .string("2.0") else {
            self = .invalid(id: replyID, error: Self.invalid("jsonrpc must be exactly \"2.0\""))
            return
        }
        guard case .string(let method)? = object["method"] else {
            self = .invalid(id: replyID, error: Self.invalid("method must be a string"))
            return
        }
        let params: RequestParams
        switch object["params"] {
        case nil: params = .none
        case .object(let named)?: params = .byName(named)
        case .array(let positional)?: params = .byPosition(positional)
        case let other?:
            self = .invalid(id: replyID, error: Self.invalid("params must be an object or an array, not \(other.typeName)"))
            return
        }
        if let unexpected = object.keys.first(where: { !["jsonrpc", "method", "params", "id"].contains($0) }) {
            self = .invalid(id: replyID, error: Self.invalid("unexpected member \"\(unexpected)\""))
            return
        }
        self = .request(Request(id: id, method: method, params: params))
    }

    private static func invalid(_ detail: String) -> RPCError {
        RPCError(.invalidRequest, "Invalid Request: \(detail)", reason: "invalid_request")
    }
}

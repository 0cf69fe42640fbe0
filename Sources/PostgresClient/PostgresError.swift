/// A five-character SQLSTATE code as PostgreSQL reports it (for example `23505`).
public struct SQLState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// The two-character class (for example `23` for integrity constraint violations).
    public var errorClass: String { String(rawValue.prefix(2)) }

    public static let uniqueViolation = SQLState("23505")
    public static let foreignKeyViolation = SQLState("23503")
    public static let checkViolation = SQLState("23514")
    public static let exclusionViolation = SQLState("23P01")
    public static let notNullViolation = SQLState("23502")
    public static let insufficientPrivilege = SQLState("42501")
    public static let serializationFailure = SQLState("40001")
    public static let deadlockDetected = SQLState("40P01")
    public static let queryCanceled = SQLState("57014")
    public static let adminShutdown = SQLState("57P01")
    public static let cannotConnectNow = SQLState("57P03")
    public static let lockNotAvailable = SQLState("55P03")
    public static let raiseException = SQLState("P0001")
    public static let invalidTextRepresentation = SQLState("22P02")
}

/// An error reported by the PostgreSQL server, with every field libpq exposes as a typed property.
public struct PostgresServerError: Error, Sendable, CustomStringConvertible {
    public let sqlState: SQLState
    public let severity: String
    public let message: String
    public let detail: String?
    public let hint: String?
    public let constraint: String?
    public let table: String?
    public let column: String?
    public let schema: String?
    /// In a pipeline, the position of the statement that failed (among the statements passed in).
    public internal(set) var statementIndex: Int?

    public init(
        sqlState: SQLState, severity: String = "ERROR", message: String, detail: String? = nil,
        hint: String? = nil, constraint: String? = nil, table: String? = nil, column: String? = nil,
        schema: String? = nil
    ) {
        self.sqlState = sqlState
        self.severity = severity
        self.message = message
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
        self.table = table
        self.column = column
        self.schema = schema
    }

    public var description: String { "\(severity) \(sqlState): \(message)" }
}

/// Everything that can go wrong talking to PostgreSQL through libpq.
public enum PostgresError: Error, Sendable, CustomStringConvertible {
    /// Opening a connection failed (server down, authentication refused, bad conninfo).
    case connectionFailed(String)
    /// The connection broke while in use; the pool replaces such connections.
    case connectionLost(String)
    /// The server executed the statement and reported an error.
    case server(PostgresServerError)
    /// libpq refused a request or returned something this client does not expect.
    case clientFailure(String)

    public var description: String {
        switch self {
        case .connectionFailed(let message): "connection failed: \(message)"
        case .connectionLost(let message): "connection lost: \(message)"
        case .server(let error): error.description
        case .clientFailure(let message): "client failure: \(message)"
        }
    }

    /// True when the error says nothing about the statement and a retry on a fresh connection may succeed.
    public var isConnectionProblem: Bool {
        switch self {
        case .connectionFailed, .connectionLost: true
        case .server(let error):
            // 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, class 08 connection exceptions.
            error.sqlState.errorClass == "08" || ["57P01", "57P02", "57P03"].contains(error.sqlState.rawValue)
        case .clientFailure: false
        }
    }

    public var serverError: PostgresServerError? {
        if case .server(let error) = self { return error }
        return nil
    }
}

/// Errors of the connection pool itself.
public enum PoolError: Error, Sendable, CustomStringConvertible {
    /// No connection became free within the configured acquire timeout.
    case acquireTimedOut(milliseconds: Int)
    /// The pool is shutting down or has shut down.
    case shutDown
    /// A new connection was needed and could not be opened.
    case unavailable(PostgresError)

    public var description: String {
        switch self {
        case .acquireTimedOut(let ms): "no database connection became free within \(ms) ms"
        case .shutDown: "the connection pool is shut down"
        case .unavailable(let error): "database unavailable: \(error)"
        }
    }
}

extension Duration {
    /// Whole milliseconds (fractions dropped), for libpq and poll timeouts and for error messages.
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

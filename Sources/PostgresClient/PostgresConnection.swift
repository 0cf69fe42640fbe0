import CLibPQ
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One libpq connection.
///
/// Every libpq call on a connection touches shared connection state, so a connection is used by one caller at a
/// time: the pool leases it to a single caller, which runs either blocking work on the pool's threads
/// (`ConnectionPool.withConnection`) or one pipeline from its own task without blocking
/// (`ConnectionPool.pipeline`: the steps of the exchange follow one another, each after the previous one's
/// wait). That discipline is what makes `@unchecked Sendable` sound.
public final class PostgresConnection: @unchecked Sendable {
    let handle: OpaquePointer
    /// Statements prepared on this connection: SQL text → server-side statement name.
    var preparedStatements: [String: String] = [:]
    /// When false, statements marked `prepared` are sent unnamed like the others: behind a transaction-pooling
    /// pgbouncer (before 1.21) a named statement prepared in one transaction may be missing in the next.
    public var usesPreparedStatements = true
    /// When true, every pipeline runs in an explicit transaction block (`BEGIN` … `COMMIT` around its statements,
    /// `ROLLBACK` after an error). For Citus: only a transaction block sends the `SET LOCAL`s of `app.begin_call`
    /// on to the workers; the pipeline's implicit transaction does not.
    public var wrapsPipelinesInTransactionBlocks = false
    private var closed = false

    /// The moment this connection last finished work; the pool uses it to decide when to ping.
    public internal(set) var lastUsed = ContinuousClock.now

    /// Opens a connection from a conninfo string (`host=… dbname=…`) or a `postgresql://` URL, exactly as
    /// libpq parses them, so `sslmode`, `sslrootcert` and every other libpq option work as documented.
    public static func connect(_ conninfo: String) throws(PostgresError) -> PostgresConnection {
        try connect(conninfo, overriding: [:])
    }

    /// Opens a connection from `conninfo` with some parameters replaced (for example the same server as
    /// another role on another database), using libpq's own parsing: no conninfo string is built by hand.
    public static func connect(_ conninfo: String, overriding overrides: [String: String]) throws(PostgresError)
        -> PostgresConnection
    {
        // With expand_dbname, the first "dbname" entry is parsed as a full conninfo or URL; later entries
        // override what it set.
        let keys = ["dbname"] + overrides.keys.sorted()
        let values = [conninfo] + overrides.keys.sorted().map { overrides[$0]! }
        let keyPointers = keys.map { strdup($0) } + [nil]
        let valuePointers = values.map { strdup($0) } + [nil]
        defer {
            keyPointers.forEach { free($0) }
            valuePointers.forEach { free($0) }
        }
        let handle = keyPointers.map { UnsafePointer($0) }.withUnsafeBufferPointer { keyBuffer in
            valuePointers.map { UnsafePointer($0) }.withUnsafeBufferPointer { valueBuffer in
                PQconnectdbParams(keyBuffer.baseAddress, valueBuffer.baseAddress, 1)
            }
        }
        guard let handle else {
            throw .connectionFailed("libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = errorMessage(handle)
            PQfinish(handle)
            throw .connectionFailed(message)
        }
        return PostgresConnection(handle: handle)
    }

    private init(handle: OpaquePointer) { self.handle = handle }

    deinit { if !closed { PQfinish(handle) } }

    public func close() {
        guard !closed else { return }
        closed = true
        PQfinish(handle)
    }

    /// The backend process id, useful to identify (or, in tests, terminate) this session.
    public var backendPID: Int32 { PQbackendPID(handle) }

    /// Whether the connection can take a new statement, checked without blocking.
    ///
    /// An idle connection has nothing to read: this client never LISTENs on pooled connections. Input waiting
    /// on the socket therefore means the server spoke up unasked, which in practice is a termination notice
    /// (`pg_terminate_backend`, shutdown) or end-of-file after a restart, so such a connection is not used.
    public var isUsable: Bool {
        guard !closed, PQstatus(handle) == CONNECTION_OK, PQtransactionStatus(handle) == PQTRANS_IDLE else { return false }
        let socket = PQsocket(handle)
        guard socket >= 0 else { return false }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) == 0
    }

    /// Runs one statement and returns its rows (a one-statement pipeline: one round trip).
    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PostgresParameter)?] = []) throws(PostgresError)
        -> PostgresResult
    {
        try pipeline([Statement(sql, parameters, prepared: false)])[0]
    }

    /// Runs a script of several statements with the simple query protocol (no parameters). Used for
    /// migrations and administration, never for statements that carry values.
    public func executeScript(_ sql: String) throws(PostgresError) {
        guard let result = PQexec(handle, sql) else { throw lostOrFailure() }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY: return
        default: throw error(from: result)
        }
    }

    /// Whether the connected database is a Citus coordinator (the citus extension is installed in it): pipelines
    /// then run in transaction blocks (`ConnectionPool`), migrations statement by statement (`Migrator`).
    public func isCitus() throws(PostgresError) -> Bool {
        try query("SELECT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus')").bool(0, 0) == true
    }

    /// Quotes an identifier for DDL, where parameters are not allowed (role and database names).
    public func escapeIdentifier(_ identifier: String) throws(PostgresError) -> String {
        guard let escaped = PQescapeIdentifier(handle, identifier, identifier.utf8.count) else {
            throw .clientFailure(Self.errorMessage(handle))
        }
        defer { PQfreemem(escaped) }
        return String(cString: escaped)
    }

    /// Quotes a literal for DDL, where parameters are not allowed.
    public func escapeLiteral(_ literal: String) throws(PostgresError) -> String {
        guard let escaped = PQescapeLiteral(handle, literal, literal.utf8.count) else {
            throw .clientFailure(Self.errorMessage(handle))
        }
        defer { PQfreemem(escaped) }
        return String(cString: escaped)
    }

    /// Computes a SCRAM-SHA-256 verifier on the client, so a password never reaches the server (or its
    /// logs) in clear text; `ALTER ROLE … PASSWORD '<verifier>'` stores it as is.
    public func scramVerifier(password: String, role: String) throws(PostgresError) -> String {
        guard let encrypted = PQencryptPasswordConn(handle, password, role, "scram-sha-256") else {
            throw .clientFailure(Self.errorMessage(handle))
        }
        defer { PQfreemem(encrypted) }
        return String(cString: encrypted)
    }

    // MARK: errors

    static func errorMessage(_ handle: OpaquePointer) -> String {
        guard let message = PQerrorMessage(handle) else { return "unknown libpq error" }
        return String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func lostOrFailure() -> PostgresError {
        let message = Self.errorMessage(handle)
        return PQstatus(handle) == CONNECTION_OK ? .clientFailure(message) : .connectionLost(message)
    }

    /// Builds a typed error from a failed result; a result without SQLSTATE means libpq itself failed,
    /// which in practice is a broken connection.
    func error(from result: OpaquePointer) -> PostgresError {
        func field(_ code: Int32) -> String? {
            guard let value = PQresultErrorField(result, code) else { return nil }
            return String(cString: value)
        }
        guard let state = field(CLIBPQ_DIAG_SQLSTATE) else {
            let message = String(cString: PQresultErrorMessage(result))
                .trimmingCharacters(in: .whitespacesAndNewlines)
            return PQstatus(handle) == CONNECTION_OK ? .clientFailure(message) : .connectionLost(message)
        }
        let serverError = PostgresServerError(
            sqlState: SQLState(state),
            severity: field(CLIBPQ_DIAG_SEVERITY_NONLOCALIZED) ?? field(CLIBPQ_DIAG_SEVERITY) ?? "ERROR",
            message: field(CLIBPQ_DIAG_MESSAGE_PRIMARY) ?? "",
            detail: field(CLIBPQ_DIAG_MESSAGE_DETAIL),
            hint: field(CLIBPQ_DIAG_MESSAGE_HINT),
            constraint: field(CLIBPQ_DIAG_CONSTRAINT_NAME),
            table: field(CLIBPQ_DIAG_TABLE_NAME),
            column: field(CLIBPQ_DIAG_COLUMN_NAME),
            schema: field(CLIBPQ_DIAG_SCHEMA_NAME)
        )
        // A FATAL error (terminated backend, shutdown) leaves the connection unusable.
        if PQstatus(handle) != CONNECTION_OK {
            return .connectionLost(serverError.description)
        }
        return .server(serverError)
    }
}

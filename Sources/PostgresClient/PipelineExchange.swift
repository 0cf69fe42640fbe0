import CLibPQ

/// One pipeline's exchange with the server, advanced without ever blocking: `advance()` does what libpq can do
/// with the bytes at hand and says what to wait for next. Two drivers run it: `PostgresConnection.pipeline` polls
/// the socket on its own thread (migrations, jobs, tools), and `PostgresConnection.pipelineOnLoop` awaits
/// `SocketReadiness`, so a call's round trip runs on the thread that asked for it (the connection's event loop)
/// and no thread blocks for it.
///
/// The statements are sent in pipeline mode followed by one Sync: everything between two Syncs runs in one
/// implicit transaction, so a statement that sets transaction-local configuration (`set_config(…, true)`) is
/// visible to the statements after it, and an error anywhere rolls the whole pipeline back. Statements after a
/// failed one are skipped by the server; the first error is the outcome. While the output is flushed the input is
/// read too, so a large pipeline cannot deadlock with the server filling our receive buffer.
struct PipelineExchange {
    enum Step {
        /// Wait until the socket is readable (or, with `writable`, also writable), then call `advance` again.
        case wait(writable: Bool)
        /// The exchange is over and the connection is out of pipeline mode again.
        case finished(Result<[PostgresResult], PostgresError>)
    }

    /// What comes back, in order: a Prepare's result (named) or a statement's result.
    private enum Expected { case prepare(sql: String, name: String), statement }

    /// Where the reading is: at expected item `index` (its result, then the NULL ending it), or after them all,
    /// skipping NULLs until the Sync's result.
    private enum Phase {
        case flushing
        case item(index: Int, awaitingEnd: Bool)
        case trailing(nulls: Int)
        case done
    }

    private let connection: PostgresConnection
    private var expected: [Expected] = []
    private var phase = Phase.flushing
    private var results: [PostgresResult] = []
    private var firstError: PostgresError?
    private var statementIndex = 0

    /// Sends every statement (into libpq's buffer; `advance` flushes it). A failure to send ends the exchange
    /// right away and is thrown after leaving pipeline mode.
    init(connection: PostgresConnection, statements: [Statement]) throws(PostgresError) {
        precondition(!statements.isEmpty, "a pipeline needs at least one statement")
        self.connection = connection
        let handle = connection.handle
        guard PQenterPipelineMode(handle) == 1 else { throw connection.lostOrFailure() }
        guard PQsetnonblocking(handle, 1) == 0 else {
            PQexitPipelineMode(handle)
            throw connection.lostOrFailure()
        }
        do throws(PostgresError) {
            try send(statements)
        } catch {
            leavePipelineMode()
            throw error
        }
        results.reserveCapacity(statements.count)
    }

    private mutating func send(_ statements: [Statement]) throws(PostgresError) {
        let handle = connection.handle
        expected.reserveCapacity(statements.count * 2)
        // Statements prepared by this pipeline, so a repeated statement is prepared only once.
        var preparing: [String: String] = [:]
        for statement in statements {
            let parameterCount = Int32(statement.parameters.count)
            let sent: Int32 = try withCStrings(statement.parameters) { (values) throws(PostgresError) -> Int32 in
                if statement.prepared && connection.usesPreparedStatements {
                    let name: String
                    if let existing = connection.preparedStatements[statement.sql] ?? preparing[statement.sql] {
                        name = existing
                    } else {
                        name = "s\(connection.preparedStatements.count + preparing.count)"
                        preparing[statement.sql] = name
                        guard PQsendPrepare(handle, name, statement.sql, parameterCount, nil) == 1 else {
                            throw connection.lostOrFailure()
                        }
                        expected.append(.prepare(sql: statement.sql, name: name))
                    }
                    return PQsendQueryPrepared(handle, name, parameterCount, values, nil, nil, 0)
                }
                return PQsendQueryParams(handle, statement.sql, parameterCount, nil, values, nil, nil, 0)
            }
            guard sent == 1 else { throw connection.lostOrFailure() }
            expected.append(.statement)
        }
        guard PQpipelineSync(handle) == 1 else { throw connection.lostOrFailure() }
    }

    /// Does everything possible without blocking: flushes, reads what has arrived, takes the results that are
    /// complete. Call it first right after `init`, then after each wait it asks for.
    mutating func advance() -> Step {
        do throws(PostgresError) {
            return try step()
        } catch {
            leavePipelineMode()
            phase = .done
            return .finished(.failure(error))
        }
    }

    private mutating func step() throws(PostgresError) -> Step {
        let handle = connection.handle
        if case .flushing = phase {
            // Whatever the server sent meanwhile is read into libpq's buffer (it may be waiting for us to read).
            guard PQconsumeInput(handle) == 1 else { throw connection.lostOrFailure() }
            switch PQflush(handle) {
            case 0: phase = expected.isEmpty ? .trailing(nulls: 0) : .item(index: 0, awaitingEnd: false)
            case 1: return .wait(writable: true)
            default: throw connection.lostOrFailure()
            }
        } else {
            guard PQconsumeInput(handle) == 1 else { throw connection.lostOrFailure() }
        }
        while true {
            if case .done = phase { break }
            if PQisBusy(handle) == 1 { return .wait(writable: false) }
            try take(PQgetResult(handle))
        }
        leavePipelineMode()
        if let firstError { return .finished(.failure(firstError)) }
        return .finished(.success(results))
    }

    /// One result (or the NULL that ends a command's results) in the reading order.
    private mutating func take(_ result: OpaquePointer?) throws(PostgresError) {
        switch phase {
        case .flushing, .done:
            if let result { PQclear(result) }
        case .item(let index, awaitingEnd: false):
            // A command without a result: libpq lost the connection mid-pipeline.
            guard let result else { throw connection.lostOrFailure() }
            record(result, for: expected[index])
            phase = .item(index: index, awaitingEnd: true)
        case .item(let index, awaitingEnd: true):
            // Each command's results end with a NULL from PQgetResult; anything before it is extra.
            if let result {
                PQclear(result)
                return
            }
            if case .statement = expected[index] { statementIndex += 1 }
            phase = index + 1 < expected.count ? .item(index: index + 1, awaitingEnd: false) : .trailing(nulls: 0)
        case .trailing(let nulls):
            // The implicit transaction commits at the sync; an error there (a deferred constraint or trigger)
            // arrives as one more result before the sync result. Whether libpq ends such a result with a NULL
            // is not relied upon: NULLs are skipped until the sync.
            guard let result else {
                guard nulls < 2 else { throw firstError ?? .clientFailure("pipeline ended without a sync result") }
                phase = .trailing(nulls: nulls + 1)
                return
            }
            defer { PQclear(result) }
            let status = PQresultStatus(result)
            if status == PGRES_PIPELINE_SYNC {
                phase = .done
                return
            }
            if status != PGRES_PIPELINE_ABORTED, firstError == nil { firstError = connection.error(from: result) }
            phase = .trailing(nulls: 0)
        }
    }

    private mutating func record(_ result: OpaquePointer, for item: Expected) {
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            if case .prepare(let sql, let name) = item {
                connection.preparedStatements[sql] = name
                PQclear(result)
            } else {
                results.append(PostgresResult(taking: result))
            }
        case PGRES_PIPELINE_ABORTED:
            PQclear(result)
        default:
            if firstError == nil {
                var error = connection.error(from: result)
                if case .server(var server) = error {
                    server.statementIndex = statementIndex
                    error = .server(server)
                }
                firstError = error
            }
            PQclear(result)
        }
    }

    private func leavePipelineMode() {
        PQsetnonblocking(connection.handle, 0)
        PQexitPipelineMode(connection.handle)
        connection.lastUsed = .now
    }
}

/// Calls `body` with a C array of NUL-terminated strings (NULL entries for SQL NULL) that stay valid for the
/// duration of the call: all of them in one allocation (a call's statements carry a handful of short parameters,
/// and one `strdup` each showed among the allocations per call).
private func withCStrings<R>(
    _ strings: [String?], _ body: ([UnsafePointer<CChar>?]) throws(PostgresError) -> R
) throws(PostgresError) -> R {
    if strings.isEmpty { return try body([]) }
    let total = strings.reduce(0) { $0 + ($1?.utf8.count ?? -1) + 1 }
    let storage = UnsafeMutablePointer<CChar>.allocate(capacity: max(total, 1))
    defer { storage.deallocate() }
    var pointers: [UnsafePointer<CChar>?] = []
    pointers.reserveCapacity(strings.count)
    var offset = 0
    for string in strings {
        guard let string else {
            pointers.append(nil)
            continue
        }
        let start = storage + offset
        let count = string.utf8.count
        start.withMemoryRebound(to: UInt8.self, capacity: count + 1) { bytes in
            _ = UnsafeMutableBufferPointer(start: bytes, count: count).initialize(from: string.utf8)
            bytes[count] = 0
        }
        pointers.append(UnsafePointer(start))
        offset += count + 1
    }
    return try body(pointers)
}

import CLibPQ
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension PostgresConnection {
    /// Sends all statements in libpq pipeline mode followed by one Sync, then reads every result: a single
    /// network round trip.
    ///
    /// Everything between two Syncs runs in one implicit transaction on the server, so a statement that sets
    /// transaction-local configuration (`set_config(…, true)`) is visible to the statements after it, and an
    /// error anywhere rolls the whole pipeline back. Statements after a failed one are skipped by the server;
    /// the first error is thrown.
    ///
    /// The connection is switched to non-blocking mode while the pipeline is sent, and the socket is polled
    /// for both directions, so a large pipeline cannot deadlock with the server filling our receive buffer.
    /// With `wrapsPipelinesInTransactionBlocks` the statements run between `BEGIN` and `COMMIT` in the same
    /// round trip; after an error the block is rolled back before the error is thrown, so the connection is idle
    /// again. An error's `statementIndex` counts the caller's statements either way.
    public func pipeline(_ statements: [Statement]) throws(PostgresError) -> [PostgresResult] {
        guard wrapsPipelinesInTransactionBlocks else { return try sendPipeline(statements) }
        do throws(PostgresError) {
            return Array(try sendPipeline([Self.begin] + statements + [Self.commit]).dropFirst().dropLast())
        } catch {
            if PQstatus(handle) == CONNECTION_OK, PQtransactionStatus(handle) != PQTRANS_IDLE {
                _ = try? executeScript("ROLLBACK")
            }
            guard case .server(var server) = error, let index = server.statementIndex else { throw error }
            server.statementIndex = index == 0 || index > statements.count ? nil : index - 1
            throw .server(server)
        }
    }

    static let begin = Statement("BEGIN", prepared: false)
    static let commit = Statement("COMMIT", prepared: false)

    private func sendPipeline(_ statements: [Statement]) throws(PostgresError) -> [PostgresResult] {
        precondition(!statements.isEmpty, "a pipeline needs at least one statement")
        guard PQenterPipelineMode(handle) == 1 else { throw lostOrFailure() }
        guard PQsetnonblocking(handle, 1) == 0 else { throw lostOrFailure() }
        defer {
            PQsetnonblocking(handle, 0)
            PQexitPipelineMode(handle)
            lastUsed = .now
        }

        // What we expect back, in order: a Prepare's result (named) or a statement's result.
        enum Expected { case prepare(sql: String, name: String), statement }
        var expected: [Expected] = []
        expected.reserveCapacity(statements.count * 2)
        // Statements prepared by this pipeline, so a repeated statement is prepared only once.
        var preparing: [String: String] = [:]

        for statement in statements {
            let parameterCount = Int32(statement.parameters.count)
            let sent: Int32 = try withCStrings(statement.parameters) { (values) throws(PostgresError) -> Int32 in
                if statement.prepared && usesPreparedStatements {
                    let name: String
                    if let existing = preparedStatements[statement.sql] ?? preparing[statement.sql] {
                        name = existing
                    } else {
                        name = "s\(preparedStatements.count + preparing.count)"
                        preparing[statement.sql] = name
                        guard PQsendPrepare(handle, name, statement.sql, parameterCount, nil) == 1 else {
                            throw lostOrFailure()
                        }
                        expected.append(.prepare(sql: statement.sql, name: name))
                    }
                    return PQsendQueryPrepared(handle, name, parameterCount, values, nil, nil, 0)
                }
                return PQsendQueryParams(handle, statement.sql, parameterCount, nil, values, nil, nil, 0)
            }
            guard sent == 1 else { throw lostOrFailure() }
            expected.append(.statement)
        }
        guard PQpipelineSync(handle) == 1 else { throw lostOrFailure() }
        try flushOutgoing()

        var results: [PostgresResult] = []
        results.reserveCapacity(statements.count)
        var firstError: PostgresError?
        var statementIndex = 0
        for item in expected {
            let result = try nextResult()
            // Each command's results end with a NULL from PQgetResult.
            while let extra = try nextResultOrNil() { PQclear(extra) }
            switch PQresultStatus(result) {
            case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
                if case .prepare(let sql, let name) = item {
                    preparedStatements[sql] = name
                    PQclear(result)
                } else {
                    results.append(PostgresResult(taking: result))
                }
            case PGRES_PIPELINE_ABORTED:
                PQclear(result)
            default:
                if firstError == nil {
                    firstError = error(from: result)
                    if case .server(var server) = firstError {
                        server.statementIndex = statementIndex
                        firstError = .server(server)
                    }
                }
                PQclear(result)
            }
            if case .statement = item { statementIndex += 1 }
        }
        // The implicit transaction commits at the sync; an error there (a deferred constraint or trigger) arrives
        // as one more result before the sync result.
        // Whether libpq ends such a result with a NULL is not relied upon: NULLs are skipped until the sync.
        var nulls = 0
        while true {
            guard let result = try nextResultOrNil() else {
                nulls += 1
                if nulls > 2 { throw firstError ?? .clientFailure("pipeline ended without a sync result") }
                continue
            }
            nulls = 0
            let status = PQresultStatus(result)
            if status == PGRES_PIPELINE_SYNC {
                PQclear(result)
                break
            }
            if status != PGRES_PIPELINE_ABORTED, firstError == nil { firstError = error(from: result) }
            PQclear(result)
        }
        if let firstError { throw firstError }
        return results
    }

    /// Flushes libpq's output buffer, reading input whenever the server has something for us meanwhile.
    private func flushOutgoing() throws(PostgresError) {
        while true {
            let state = PQflush(handle)
            if state == 0 { return }
            if state < 0 { throw lostOrFailure() }
            try waitForSocket(writable: true)
            guard PQconsumeInput(handle) == 1 else { throw lostOrFailure() }
        }
    }

    /// The next result; a missing one is a protocol failure.
    private func nextResult() throws(PostgresError) -> OpaquePointer {
        guard let result = try nextResultOrNil() else { throw lostOrFailure() }
        return result
    }

    private func nextResultOrNil() throws(PostgresError) -> OpaquePointer? {
        while PQisBusy(handle) == 1 {
            try waitForSocket(writable: false)
            guard PQconsumeInput(handle) == 1 else { throw lostOrFailure() }
        }
        return PQgetResult(handle)
    }

    private func waitForSocket(writable: Bool) throws(PostgresError) {
        let socket = PQsocket(handle)
        guard socket >= 0 else { throw lostOrFailure() }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN) | (writable ? Int16(POLLOUT) : 0), revents: 0)
        while true {
            let ready = poll(&descriptor, 1, -1)
            if ready > 0 { return }
            if ready < 0 && errno != EINTR { throw .connectionLost("poll failed: errno \(errno)") }
        }
    }
}

/// Calls `body` with a C array of NUL-terminated strings (NULL entries for SQL NULL) that stay valid for the
/// duration of the call.
private func withCStrings<R>(
    _ strings: [String?], _ body: ([UnsafePointer<CChar>?]) throws(PostgresError) -> R
) throws(PostgresError) -> R {
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } }
    defer { for pointer in pointers { free(pointer) } }
    return try body(pointers.map { UnsafePointer($0) })
}

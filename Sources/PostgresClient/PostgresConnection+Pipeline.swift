import CLibPQ
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension PostgresConnection {
    /// Sends all statements in libpq pipeline mode followed by one Sync, then reads every result: a single
    /// network round trip, waiting for the socket on this thread (`PipelineExchange` has the rules).
    ///
    /// With `wrapsPipelinesInTransactionBlocks` the statements run between `BEGIN` and `COMMIT` in the same
    /// round trip; after an error the block is rolled back before the error is thrown, so the connection is idle
    /// again. An error's `statementIndex` counts the caller's statements either way.
    public func pipeline(_ statements: [Statement]) throws(PostgresError) -> [PostgresResult] {
        guard wrapsPipelinesInTransactionBlocks else { return try exchange(statements) }
        do throws(PostgresError) {
            return Self.unwrapped(try exchange(Self.wrapped(statements)))
        } catch {
            if needsRollback { _ = try? exchange([Self.rollback]) }
            throw Self.unwrapped(error, statementCount: statements.count)
        }
    }

    /// The same exchange, waiting for the socket through `readiness` instead of blocking a thread: the calling
    /// task is suspended between the round trip's steps and resumes on its own executor (a server call's: its
    /// connection's event loop). The statements are sent and the results read on that executor.
    public func pipelineOnLoop(_ statements: [Statement], readiness: SocketReadiness) async throws(PostgresError)
        -> [PostgresResult]
    {
        guard wrapsPipelinesInTransactionBlocks else { return try await exchange(statements, readiness: readiness) }
        do throws(PostgresError) {
            return Self.unwrapped(try await exchange(Self.wrapped(statements), readiness: readiness))
        } catch {
            if needsRollback { _ = try? await exchange([Self.rollback], readiness: readiness) }
            throw Self.unwrapped(error, statementCount: statements.count)
        }
    }

    private func exchange(_ statements: [Statement]) throws(PostgresError) -> [PostgresResult] {
        var exchange = try PipelineExchange(connection: self, statements: statements)
        while true {
            switch exchange.advance() {
            case .finished(let outcome): return try outcome.get()
            case .wait(let writable): try waitForSocket(writable: writable)
            }
        }
    }

    private func exchange(_ statements: [Statement], readiness: SocketReadiness) async throws(PostgresError)
        -> [PostgresResult]
    {
        var exchange = try PipelineExchange(connection: self, statements: statements)
        while true {
            switch exchange.advance() {
            case .finished(let outcome): return try outcome.get()
            case .wait(let writable):
                let socket = PQsocket(handle)
                guard socket >= 0 else { throw lostOrFailure() }
                // Woken when a whole result can be taken (or the connection broke), not at each chunk of it.
                let handle = UnsafeSendableHandle(handle)
                let resultComplete: @Sendable () -> Bool = { PQconsumeInput(handle.pointer) == 0 || PQisBusy(handle.pointer) == 0 }
                let ready = writable ? nil : resultComplete
                await readiness.wait(for: socket, writable: writable, until: ready)
            }
        }
    }

    static let begin = Statement("BEGIN", prepared: false)
    static let commit = Statement("COMMIT", prepared: false)
    static let rollback = Statement("ROLLBACK", prepared: false)

    private static func wrapped(_ statements: [Statement]) -> [Statement] { [begin] + statements + [commit] }
    private static func unwrapped(_ results: [PostgresResult]) -> [PostgresResult] { Array(results.dropFirst().dropLast()) }

    /// The error as the caller's statements see it: its index without the `BEGIN`.
    private static func unwrapped(_ error: PostgresError, statementCount: Int) -> PostgresError {
        guard case .server(var server) = error, let index = server.statementIndex else { return error }
        server.statementIndex = index == 0 || index > statementCount ? nil : index - 1
        return .server(server)
    }

    /// A failed block leaves the session in an aborted transaction until it is rolled back.
    private var needsRollback: Bool {
        PQstatus(handle) == CONNECTION_OK && PQtransactionStatus(handle) != PQTRANS_IDLE
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

/// A libpq connection handle handed to `SocketReadiness`'s thread while the connection's task is suspended (the
/// connection is still used by one thread at a time).
private struct UnsafeSendableHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

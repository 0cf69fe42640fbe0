import CLibPQ

#if canImport(Glibc)
import Glibc
#endif

/// A message sent with NOTIFY (or `pg_notify`) to a channel this connection listens on.
public struct PostgresNotification: Sendable, Equatable {
    public let channel: String
    public let payload: String
    /// The process id of the backend that sent it.
    public let senderProcessID: Int32
}

extension PostgresConnection {
    /// Starts listening on `channel` (quoted as an identifier).
    public func listen(_ channel: String) throws(PostgresError) {
        try executeScript("LISTEN \(try escapeIdentifier(channel))")
    }

    /// Waits up to `timeout` for notifications and returns every one received (empty on timeout). Blocks the
    /// calling thread: run it on a blocking thread pool, never on an event loop.
    public func waitForNotifications(timeout: Duration) throws(PostgresError) -> [PostgresNotification] {
        var received = try drainNotifications()
        if !received.isEmpty { return received }
        let socket = PQsocket(handle)
        guard socket >= 0 else { throw .connectionLost("the connection has no socket") }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, Int32(clamping: timeout.wholeMilliseconds))
        if ready < 0 && errno != EINTR { throw .connectionLost("poll failed: errno \(errno)") }
        if ready > 0 {
            guard PQconsumeInput(handle) == 1 else { throw .connectionLost(Self.errorMessage(handle)) }
            received = try drainNotifications()
        }
        return received
    }

    private func drainNotifications() throws(PostgresError) -> [PostgresNotification] {
        guard PQstatus(handle) == CONNECTION_OK else { throw .connectionLost(Self.errorMessage(handle)) }
        var received: [PostgresNotification] = []
        while let notice = PQnotifies(handle) {
            received.append(PostgresNotification(
                channel: String(cString: notice.pointee.relname), payload: String(cString: notice.pointee.extra),
                senderProcessID: notice.pointee.be_pid))
            PQfreemem(notice)
        }
        return received
    }
}

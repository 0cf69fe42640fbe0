import JSONRPC

/// What the transport hands requests to. The transport owns sockets, TLS, framing, batches, limits and the
/// order in which calls run; the responder owns what a request means.
///
/// One `Session` is opened per connection and passed back with each of its requests, so per-connection
/// state (who is authenticated) stays on the responder's side without the transport knowing its shape.
public protocol RPCResponder: Sendable {
    associatedtype Session: Sendable

    /// A new connection's state; `connectionID` numbers connections for logs, `peer` is the client's IP address
    /// (when known), `outbound` sends it notifications.
    func openSession(connectionID: UInt64, peer: String?, outbound: ConnectionOutbound) -> Session

    /// A barrier request runs alone: everything received before it finishes first, nothing after it starts
    /// until it is done (`session.authenticate` followed by pipelined calls behaves as written).
    func isBarrier(_ request: Request) -> Bool

    /// The reply body of one request (the transport adds the id and leaves notifications unanswered).
    func respond(to request: Request, session: Session) async -> ResponseBody
}


/// Told what happens to connections that are never served, for metrics. The transport knows nothing of how they
/// are counted; the service passes one in (`RPCServer.bind(observer:)`).
public protocol TransportObserver: Sendable {
    /// A connection closed without being served: `over_capacity` or `shutting_down`.
    func connectionRefused(reason: String)
    /// A TLS handshake that did not complete: `timeout`, `error` (not TLS, a bad or missing client certificate)
    /// or `closed` (the client went away first).
    func handshakeFailed(reason: String)
}

/// What the transport needs to know: where to listen, its TLS material, and the limits it enforces per
/// connection. It knows nothing of the methods behind it.
public struct TransportConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 7443
    /// PEM files of the server certificate chain and its private key.
    public var certificateFile = ""
    public var privateKeyFile = ""
    /// When set, clients must present a certificate signed by this CA (mutual TLS).
    public var clientCAFile: String? = nil
    public var maximumLineBytes = 1 << 20
    public var maximumBatchSize = 100
    public var maximumConnections = 1024
    public var maximumInFlightPerConnection = 32
    public var handshakeTimeout: Duration = .seconds(10)
    public var idleTimeout: Duration = .seconds(300)

    public init() {}
}

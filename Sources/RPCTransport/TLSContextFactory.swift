import NIOSSL

/// Builds the server's TLS context: TLS 1.2 or newer, certificate chain and key from PEM files, and, when a
/// client CA is configured, mandatory client certificates verified against it (mutual TLS).
public enum TLSContextFactory {
    public enum Failure: Error, CustomStringConvertible {
        case unreadable(file: String, reason: String)
        public var description: String {
            switch self {
            case .unreadable(let file, let reason): "cannot load TLS material from \(file): \(reason)"
            }
        }
    }

    public static func serverContext(_ configuration: TransportConfiguration) throws -> NIOSSLContext {
        let chain = try load(configuration.certificateFile) { try NIOSSLCertificate.fromPEMFile($0) }
        let key = try load(configuration.privateKeyFile) { try NIOSSLPrivateKey(file: $0, format: .pem) }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        if let clientCA = configuration.clientCAFile {
            let roots = try load(clientCA) { try NIOSSLCertificate.fromPEMFile($0) }
            // On a server, any verification mode requests a client certificate and fails the handshake
            // without a valid one; there is no host name to check for clients.
            tls.certificateVerification = .noHostnameVerification
            tls.trustRoots = .certificates(roots)
        }
        return try NIOSSLContext(configuration: tls)
    }

    private static func load<T>(_ file: String, _ body: (String) throws -> T) throws -> T {
        do { return try body(file) } catch { throw Failure.unreadable(file: file, reason: "\(error)") }
    }
}

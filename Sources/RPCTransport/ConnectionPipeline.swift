import LineFraming
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// The handlers of one client connection, from the socket up: TLS, the handshake deadline, read idleness,
/// line framing, and the JSON-RPC connection itself.
struct ConnectionPipeline<Responder: RPCResponder>: Sendable {
    let configuration: TransportConfiguration
    let sslContext: NIOSSLContext
    let responder: MessageResponder<Responder>
    let observer: (any TransportObserver)?
    let logger: Logger
    /// Where each connection's calls run: its event loop.
    let executors: EventLoopTaskExecutor.PerLoop
    private let handshakeTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let connectionSequence = ConnectionSequence()

    init(
        configuration: TransportConfiguration, sslContext: NIOSSLContext, responder: MessageResponder<Responder>,
        observer: (any TransportObserver)?, executors: EventLoopTaskExecutor.PerLoop, logger: Logger
    ) {
        self.executors = executors
        self.configuration = configuration
        self.sslContext = sslContext
        self.responder = responder
        self.observer = observer
        self.logger = logger
        self.handshakeTimeout = TimeAmount(configuration.handshakeTimeout)
        self.idleTimeout = TimeAmount(configuration.idleTimeout)
    }

    func configure(_ channel: any Channel, admission: ConnectionRegistry.Admission) throws {
        let pipeline = channel.pipeline.syncOperations
        let connectionID = connectionSequence.next()
        let session = responder.responder.openSession(
            connectionID: connectionID, peer: channel.remoteAddress?.ipAddress, outbound: ConnectionOutbound(channel: channel))
        try pipeline.addHandler(NIOSSLServerHandler(context: sslContext))
        // After the TLS handler: it fires the handshake-completed event towards the tail.
        try pipeline.addHandler(HandshakeTimeoutHandler(timeout: handshakeTimeout, observer: observer))
        try pipeline.addHandler(IdleStateHandler(readTimeout: idleTimeout))
        try pipeline.addHandler(ByteToMessageHandler(LineFrameDecoder(maximumLength: configuration.maximumLineBytes)))
        try pipeline.addHandler(
            RPCConnectionHandler(
                responder: responder, session: session, connectionID: connectionID, admission: admission,
                executor: executors.executor(for: channel.eventLoop),
                inFlightLimit: configuration.maximumInFlightPerConnection,
                maximumConnections: configuration.maximumConnections, logger: logger))
    }
}

/// Connection numbers for logs.
private final class ConnectionSequence: Sendable {
    private let last = Atomic<UInt64>(0)
    func next() -> UInt64 { last.add(1, ordering: .relaxed).newValue }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

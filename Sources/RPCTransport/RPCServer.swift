import Logging
import NIOCore
import NIOPosix

/// The TLS, line-delimited JSON-RPC 2.0 server.
///
/// Each connection is an `RPCConnectionHandler` on its event loop, which runs calls concurrently (up to the
/// in-flight cap), so **replies may come out of order**: clients match them by id. Barrier methods
/// (`session.authenticate`) and batches containing one run alone. On graceful shutdown the server stops
/// accepting, every connection stops reading, answers what it has received, and closes.
public final class RPCServer: Sendable {
    public let configuration: TransportConfiguration
    let logger: Logger
    private let serverChannel: any Channel
    private let connections: ConnectionRegistry

    /// The port actually bound (useful with port 0).
    public let port: Int

    /// Binds the listening socket; `run()` then serves.
    public static func bind<Responder: RPCResponder>(
        configuration: TransportConfiguration, responder: Responder, group: any EventLoopGroup, logger: Logger,
        observer: (any TransportObserver)? = nil
    ) async throws -> RPCServer {
        let connections = ConnectionRegistry(maximumConnections: configuration.maximumConnections)
        let pipeline = ConnectionPipeline(
            configuration: configuration, sslContext: try TLSContextFactory.serverContext(configuration),
            responder: MessageResponder(responder: responder, maximumBatchSize: configuration.maximumBatchSize),
            observer: observer, executors: EventLoopTaskExecutor.PerLoop(group), logger: logger)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    let admission = connections.register(child)
                    switch admission {
                    case .refused: observer?.connectionRefused(reason: "shutting_down"); return
                    case .overCapacity: observer?.connectionRefused(reason: "over_capacity")
                    case .admitted: break
                    }
                    try pipeline.configure(child, admission: admission)
                }
            }
            .bind(host: configuration.host, port: configuration.port).get()
        return RPCServer(configuration: configuration, logger: logger, serverChannel: channel, connections: connections)
    }

    private init(configuration: TransportConfiguration, logger: Logger, serverChannel: any Channel, connections: ConnectionRegistry) {
        self.configuration = configuration
        self.logger = logger
        self.serverChannel = serverChannel
        self.connections = connections
        self.port = serverChannel.localAddress?.port ?? configuration.port
    }

    /// Connections being served.
    public var connectionCount: Int { connections.admittedCount }

    /// Serves until `shutdown()`, then returns once every connection has closed: after answering what each had
    /// received, or at once when this task was cancelled.
    public func run() async {
        logger.info("listening", metadata: ["host": "\(configuration.host)", "port": "\(port)"])
        try? await serverChannel.closeFuture.get()
        if Task.isCancelled {
            connections.closeAll()
        } else {
            await connections.drain()
        }
        logger.info("stopped")
    }

    /// Stops accepting connections; `run()` then drains every connection (or closes them, when cancelled).
    public func shutdown() {
        logger.info("shutdown: no longer accepting connections")
        serverChannel.close(promise: nil)
    }
}

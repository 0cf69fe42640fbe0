import JSONRPC
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

/// The TLS, line-delimited JSON-RPC 2.0 server.
///
/// Each connection reads one message per line and runs calls concurrently (up to the in-flight cap), so
/// **replies may come out of order**: clients match them by id. Barrier methods (`session.authenticate`) and
/// batches containing one run alone. On graceful shutdown the server stops accepting, every connection stops
/// reading, answers what is in flight, and closes.
public final class RPCServer: Service, Sendable {
    struct AcceptedConnection: Sendable {
        let channel: NIOAsyncChannel<InboundFrame, ByteBuffer>
        let limiter: InFlightLimiter
        /// Succeeds when the TLS handshake completes.
        let handshake: EventLoopFuture<Void>
    }

    public let configuration: ServerConfiguration
    let dispatcher: Dispatcher
    let logger: Logger
    private let serverChannel: NIOAsyncChannel<AcceptedConnection, Never>
    private let openConnections = Mutex(0)
    private let connectionSequence = Atomic<UInt64>(0)

    /// The port actually bound (useful with port 0).
    public let port: Int

    /// Binds the listening socket; `run()` then serves.
    public static func bind(
        configuration: ServerConfiguration, dispatcher: Dispatcher, group: any EventLoopGroup, logger: Logger
    ) async throws -> RPCServer {
        let sslContext = try TLSContextFactory.serverContext(configuration)
        let handshakeTimeout = TimeAmount(configuration.handshakeTimeout)
        let idleTimeout = TimeAmount(configuration.idleTimeout)
        let maximumLine = configuration.maximumLineBytes
        let inFlightLimit = configuration.maximumInFlightPerConnection
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: configuration.host, port: configuration.port) { child in
                child.eventLoop.makeCompletedFuture {
                    let limiter = InFlightLimiter(limit: inFlightLimit)
                    let handshake = child.eventLoop.makePromise(of: Void.self)
                    let pipeline = child.pipeline.syncOperations
                    try pipeline.addHandler(NIOSSLServerHandler(context: sslContext))
                    // After the TLS handler: it fires the handshake-completed event towards the tail.
                    try pipeline.addHandler(HandshakeTimeoutHandler(timeout: handshakeTimeout, completed: handshake))
                    try pipeline.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try pipeline.addHandler(IdleConnectionCloser(activity: limiter))
                    try pipeline.addHandler(ByteToMessageHandler(LineFrameDecoder(maximumLength: maximumLine)))
                    try pipeline.addHandler(ShutdownFrameInjector())
                    let asyncChannel = try NIOAsyncChannel<InboundFrame, ByteBuffer>(
                        wrappingChannelSynchronously: child,
                        configuration: .init(backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8)))
                    return AcceptedConnection(channel: asyncChannel, limiter: limiter, handshake: handshake.futureResult)
                }
            }
        return RPCServer(configuration: configuration, dispatcher: dispatcher, logger: logger, serverChannel: channel)
    }

    private init(
        configuration: ServerConfiguration, dispatcher: Dispatcher, logger: Logger,
        serverChannel: NIOAsyncChannel<AcceptedConnection, Never>
    ) {
        self.configuration = configuration
        self.dispatcher = dispatcher
        self.logger = logger
        self.serverChannel = serverChannel
        self.port = serverChannel.channel.localAddress?.port ?? configuration.port
    }

    public var connectionCount: Int { openConnections.withLock { $0 } }

    public func run() async throws {
        logger.info("listening", metadata: ["host": "\(configuration.host)", "port": "\(port)"])
        let serverChannel = self.serverChannel
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await serverChannel.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask { await self.serve(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            self.logger.info("graceful shutdown: no longer accepting connections")
            serverChannel.channel.close(promise: nil)
        }
        logger.info("stopped")
    }

    // MARK: one connection

    private func serve(_ connection: AcceptedConnection) async {
        let session = Session(connectionID: connectionSequence.add(1, ordering: .relaxed).newValue)
        let logger: Logger = {
            var logger = self.logger
            logger[metadataKey: "connection"] = "\(session.connectionID)"
            return logger
        }()
        let maximumConnections = configuration.maximumConnections
        let admitted = openConnections.withLock { count -> Bool in
            guard count < maximumConnections else { return false }
            count += 1
            return true
        }
        defer { if admitted { openConnections.withLock { $0 -= 1 } } }
        let limiter = connection.limiter
        do {
            try await connection.channel.executeThenClose { inbound, outbound in
                guard admitted else {
                    // Data written before the handshake completes would be lost when we close.
                    try await connection.handshake.get()
                    let error = RPCError(
                        .overCapacity, "Over capacity: the server has \(maximumConnections) connections",
                        reason: "too_many_connections", retryAfterMilliseconds: 1000, limit: maximumConnections)
                    try await outbound.write(ByteBuffer(bytes: Response(id: .null, body: .error(error)).line))
                    return
                }
                let channel = connection.channel.channel
                try await withGracefulShutdownHandler {
                    try await self.readRequests(inbound, outbound, session: session, limiter: limiter, logger: logger)
                } onGracefulShutdown: {
                    channel.pipeline.fireUserInboundEventTriggered(GracefulShutdownEvent())
                }
                await limiter.waitUntilIdle()
            }
        } catch {
            logger.debug("connection ended", metadata: ["error": "\(error)"])
            await limiter.waitUntilIdle()
        }
    }

    private func readRequests(
        _ inbound: NIOAsyncChannelInboundStream<InboundFrame>, _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        session: Session, limiter: InFlightLimiter, logger: Logger
    ) async throws {
        for try await frame in inbound {
            let line: ByteBuffer
            switch frame {
            case .lineTooLong(let limit):
                await limiter.waitUntilIdle()
                let error = RPCError(
                    .invalidRequest, "Invalid Request: line longer than the maximum of \(limit) bytes",
                    reason: "line_too_long", limit: limit)
                try await outbound.write(ByteBuffer(bytes: Response(id: .null, body: .error(error)).line))
                logger.info("closing connection: line too long", metadata: ["limit": "\(limit)"])
                return
            case .shutdownRequested:
                return
            case .line(let buffer):
                line = buffer
            }
            guard let message = decode(line) else { continue }  // blank line
            if containsBarrier(message) {
                await limiter.waitUntilIdle()
                await limiter.acquire()
                await answer(message, session: session, outbound: outbound)
                limiter.release()
            } else {
                await limiter.acquire()
                Task {
                    await self.answer(message, session: session, outbound: outbound)
                    limiter.release()
                }
            }
        }
    }

    /// Decodes a line; nil for a blank line (ignored, so a human typing into a terminal may press Enter).
    private func decode(_ line: ByteBuffer) -> IncomingMessage? {
        let bytes = Array(line.readableBytesView)
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return nil }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            return .rejected(RPCError(.parseError, "Parse error: the line is not valid UTF-8", reason: "invalid_utf8"))
        }
        return IncomingMessage.decode(line: bytes)
    }

    private func containsBarrier(_ message: IncomingMessage) -> Bool {
        switch message {
        case .single(.request(let request)): dispatcher.isBarrier(request)
        case .batch(let entries):
            entries.contains { if case .request(let request) = $0 { dispatcher.isBarrier(request) } else { false } }
        default: false
        }
    }

    private func answer(
        _ message: IncomingMessage, session: Session, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) async {
        guard let reply = await respond(to: message, session: session) else { return }
        // A failed write means the client went away; its other calls are unaffected.
        try? await outbound.write(ByteBuffer(bytes: reply))
    }

    /// The reply line for a message, or nil when nothing is owed (a notification, a batch of notifications).
    func respond(to message: IncomingMessage, session: Session) async -> [UInt8]? {
        switch message {
        case .rejected(let error):
            return Response(id: .null, body: .error(error)).line
        case .single(let entry):
            return await respond(to: entry, session: session)?.line
        case .batch(let entries):
            guard entries.count <= configuration.maximumBatchSize else {
                let error = RPCError(
                    .invalidRequest, "Invalid Request: a batch may hold at most \(configuration.maximumBatchSize) requests",
                    reason: "batch_too_large", limit: configuration.maximumBatchSize)
                return Response(id: .null, body: .error(error)).line
            }
            // Batch members run one after another, in order: predictable, and one batch cannot take the whole
            // database pool.
            var responses: [Response] = []
            for entry in entries {
                if let response = await respond(to: entry, session: session) { responses.append(response) }
            }
            return responses.isEmpty ? nil : Response.batchLine(responses)
        }
    }

    private func respond(to entry: RequestEntry, session: Session) async -> Response? {
        switch entry {
        case .invalid(let id, let error):
            return Response(id: id, body: .error(error))
        case .request(let request):
            let body = await dispatcher.dispatch(request, session: session)
            guard let id = request.id else { return nil }  // notifications are never answered
            return Response(id: id, body: body)
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

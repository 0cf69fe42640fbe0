import JSONRPC
import LineFraming
import Logging
import NIOCore
import NIOTLS

/// One client connection, driven by its event loop: lines in, replies out. The rules (in-flight cap, barriers,
/// held reads, endings) are `ConnectionStateMachine`'s; this handler translates channel events into its events
/// and performs the actions it returns.
///
/// An idle connection costs its channel, its TLS state and this handler, and no Swift task: a task is created
/// per call while it runs (measured with `engagement-loadgen --idle`, see Benchmarks/README.md). Calls run
/// concurrently, so **replies may come out of order** (clients match them by id). Lines are decoded on the
/// event loop (bounded by the line limit); the call itself runs in its task.
final class RPCConnectionHandler<Responder: RPCResponder>: ChannelDuplexHandler {
    typealias InboundIn = InboundFrame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let responder: MessageResponder<Responder>
    private let session: Responder.Session
    private let connectionID: UInt64
    /// The event loop as the calls' executor (nil only for a group whose loops were not listed).
    private let executor: EventLoopTaskExecutor?
    /// The server's logger; the connection id goes into each message's metadata rather than into a per-connection
    /// copy of the logger (which every idle connection would carry).
    private let logger: Logger
    private var state: ConnectionStateMachine<IncomingMessage>
    /// How long a shutting-down connection keeps reading, so that calls already sent are refused, not lost.
    static var drainWindow: TimeAmount { .milliseconds(200) }

    init(
        responder: MessageResponder<Responder>, session: Responder.Session, connectionID: UInt64,
        admission: ConnectionRegistry.Admission, executor: EventLoopTaskExecutor?, inFlightLimit: Int, maximumConnections: Int, logger: Logger
    ) {
        self.responder = responder
        self.session = session
        self.connectionID = connectionID
        self.executor = executor
        self.logger = logger
        self.state = ConnectionStateMachine(
            admitted: admission == .admitted, inFlightLimit: inFlightLimit, maximumConnections: maximumConnections)
    }

    // MARK: channel events → state machine

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .line(let line):
            guard state.admitted, !state.isClosed, let message = responder.decode(line) else { return }  // blank line
            perform(state.received(message, isBarrier: responder.containsBarrier(message)), context: context)
        case .lineTooLong(let limit):
            logger.info("closing connection: line too long", metadata: ["connection": "\(connectionID)", "limit": "\(limit)"])
            perform(state.lineTooLong(limit: limit), context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            perform(state.handshakeCompleted(), context: context)
            context.fireUserInboundEventTriggered(event)
        } else if event is GracefulShutdownEvent {
            perform(state.gracefulShutdown(), context: context)
        } else if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            perform(state.idleTimeout(), context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.channelInactive()
        logger.debug("connection closed", metadata: ["connection": "\(connectionID)", "in_flight": "\(state.inFlight)"])
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["connection": "\(connectionID)", "error": "\(error)"])
        perform(state.errorCaught(), context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        perform(state.writabilityChanged(isWritable: context.channel.isWritable), context: context)
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        perform(state.readRequested(), context: context)
    }

    // MARK: actions

    private func perform(_ actions: [ConnectionStateMachine<IncomingMessage>.Action], context: ChannelHandlerContext) {
        for action in actions {
            switch action {
            case .start(let message):
                start(message, context: context)
            case .write(let line):
                context.writeAndFlush(wrapOutboundOut(line), promise: nil)
            case .writeThenClose(let line):
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(line)).whenComplete { _ in channel.close(promise: nil) }
            case .close:
                context.close(promise: nil)
            case .read:
                context.read()
            case .refuse(let message):
                if let line = responder.refusal(of: message) {
                    context.writeAndFlush(wrapOutboundOut(line), promise: nil)
                }
            case .scheduleDrainEnd:
                let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: Self.drainWindow) {
                    let (handler, context) = loopBound.value
                    handler.perform(handler.state.drainWindowEnded(), context: context)
                }
            }
        }
    }

    private func start(_ message: IncomingMessage, context: ChannelHandlerContext) {
        let responder = self.responder
        let session = self.session
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        Task(executorPreference: executor) {
            let reply = await responder.respond(to: message, session: session)
            // On the loop already, unless the task was not given it as its executor.
            let finish: @Sendable () -> Void = {
                let (handler, context) = loopBound.value
                handler.perform(handler.state.callFinished(reply: reply), context: context)
            }
            if loopBound.eventLoop.inEventLoop { finish() } else { loopBound.eventLoop.execute(finish) }
        }
    }
}

import JSONRPC
import LineFraming
import Logging
import NIOCore
import NIOTLS

/// One client connection, driven by its event loop: lines in, replies out.
///
/// An idle connection costs its channel, its TLS state and this handler, and no Swift task: a task is created
/// per call while it runs (measured with `engagement-loadgen --idle`, see Benchmarks/README.md). Calls run
/// concurrently up to the per-connection cap, so **replies may come out of order** (clients match them by id);
/// barrier messages (`session.authenticate`, or a batch containing one) run alone, after those before them and
/// before those after them. Back-pressure: while a call waits for a slot (or for a barrier) the handler holds
/// the channel's reads, so a fast client fills its own socket buffer instead of the server's memory. Lines are
/// decoded on the event loop (bounded by the line limit); the call itself runs in its task.
///
/// Endings: a line over the limit is answered (after the calls before it) and the connection closes; on
/// graceful shutdown the connection stops reading, answers what it has received, and closes; the idle timeout
/// closes a connection with nothing in flight; a connection over the cap gets the over-capacity error after
/// its handshake and is closed.
final class RPCConnectionHandler<Responder: RPCResponder>: ChannelDuplexHandler {
    typealias InboundIn = InboundFrame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Ending {
        case none
        case lineTooLong(limit: Int)
        case shuttingDown
        /// Closed or closing: nothing more is read, started, or written.
        case closed
    }

    private let responder: MessageResponder<Responder>
    private let session: Responder.Session
    private let connectionID: UInt64
    private let admission: ConnectionRegistry.Admission
    private let inFlightLimit: Int
    private let maximumConnections: Int
    /// The server's logger; the connection id goes into each message's metadata rather than into a per-connection
    /// copy of the logger (which every idle connection would carry).
    private let logger: Logger

    private var inFlight = 0
    private var barrierRunning = false
    /// Messages received but not started (waiting for a slot or for a barrier). Small at first: most
    /// connections never queue, and every idle connection carries it.
    private var waiting = CircularBuffer<IncomingMessage>(initialCapacity: 2)
    /// A read the channel asked for while we were holding reads.
    private var readHeld = false
    private var ending = Ending.none

    init(
        responder: MessageResponder<Responder>, session: Responder.Session, connectionID: UInt64, admission: ConnectionRegistry.Admission, inFlightLimit: Int,
        maximumConnections: Int, logger: Logger
    ) {
        self.responder = responder
        self.session = session
        self.connectionID = connectionID
        self.admission = admission
        self.inFlightLimit = inFlightLimit
        self.maximumConnections = maximumConnections
        self.logger = logger
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard admission == .admitted, case .none = ending else { return }
        switch unwrapInboundIn(data) {
        case .line(let line):
            guard let message = responder.decode(line) else { return }  // blank line
            waiting.append(message)
        case .lineTooLong(let limit):
            logger.info("closing connection: line too long", metadata: ["connection": "\(connectionID)", "limit": "\(limit)"])
            ending = .lineTooLong(limit: limit)
        }
        startWaiting(context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls, admission == .overCapacity {
            refuseOverCapacity(context: context)
        } else if event is GracefulShutdownEvent {
            if case .none = ending { ending = .shuttingDown }
            startWaiting(context: context)
        } else if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read, inFlight == 0, waiting.isEmpty {
            close(context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        ending = .closed
        waiting.removeAll()
        logger.debug("connection closed", metadata: ["connection": "\(connectionID)", "in_flight": "\(inFlight)"])
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["connection": "\(connectionID)", "error": "\(error)"])
        close(context: context)
    }

    // MARK: outbound

    func read(context: ChannelHandlerContext) {
        if holdingReads {
            readHeld = true
        } else {
            context.read()
        }
    }

    /// Reads wait while anything waits, while every slot is taken, and once the connection is ending. A
    /// connection over the cap keeps reading: its handshake needs it.
    private var holdingReads: Bool {
        guard admission == .admitted else { return false }
        guard case .none = ending else { return true }
        return !waiting.isEmpty || barrierRunning || inFlight >= inFlightLimit
    }

    // MARK: calls

    /// Starts what may start, in order; finishes an ending once nothing is left; resumes held reads.
    private func startWaiting(context: ChannelHandlerContext) {
        while !barrierRunning, let next = waiting.first {
            if responder.containsBarrier(next) {
                guard inFlight == 0 else { break }
                barrierRunning = true
            } else {
                guard inFlight < inFlightLimit else { break }
            }
            waiting.removeFirst()
            start(next, context: context)
        }
        if inFlight == 0, waiting.isEmpty {
            switch ending {
            case .lineTooLong(let limit):
                let error = RPCError(
                    .invalidRequest, "Invalid Request: line longer than the maximum of \(limit) bytes",
                    reason: "line_too_long", limit: limit)
                writeThenClose(Response(id: .null, body: .error(error)).line, context: context)
                return
            case .shuttingDown:
                close(context: context)
                return
            case .none, .closed:
                break
            }
        }
        if readHeld, !holdingReads {
            readHeld = false
            context.read()
        }
    }

    private func start(_ message: IncomingMessage, context: ChannelHandlerContext) {
        inFlight += 1
        let responder = self.responder
        let session = self.session
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        Task {
            let reply = await responder.respond(to: message, session: session)
            loopBound.eventLoop.execute {
                loopBound.value.handler.finished(reply: reply, context: loopBound.value.context)
            }
        }
    }

    private func finished(reply: [UInt8]?, context: ChannelHandlerContext) {
        inFlight -= 1
        barrierRunning = false  // a barrier runs alone, so whatever finished, no barrier is running now
        if case .closed = ending { return }  // the client went away; its other calls are unaffected
        if let reply { context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: reply)), promise: nil) }
        startWaiting(context: context)
    }

    // MARK: endings

    private func refuseOverCapacity(context: ChannelHandlerContext) {
        let maximum = maximumConnections
        let error = RPCError(
            .overCapacity, "Over capacity: the server has \(maximum) connections",
            reason: "too_many_connections", retryAfterMilliseconds: 1000, limit: maximum)
        writeThenClose(Response(id: .null, body: .error(error)).line, context: context)
    }

    private func writeThenClose(_ line: [UInt8], context: ChannelHandlerContext) {
        ending = .closed
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: line))).whenComplete { _ in channel.close(promise: nil) }
    }

    private func close(context: ChannelHandlerContext) {
        ending = .closed
        context.close(promise: nil)
    }
}

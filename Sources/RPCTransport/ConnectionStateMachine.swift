import JSONRPC
import NIOCore

/// The logic of one client connection as a plain value: events in, actions out (the model is postgres-nio's
/// `ConnectionStateMachine`). `RPCConnectionHandler` feeds it what the channel reports and performs the actions;
/// the rules live here and are tested without sockets.
///
/// Rules: calls run concurrently up to `inFlightLimit`; a barrier message runs alone, after those before it and
/// before those after it; while anything waits (for a slot or a barrier) reads are held, so a fast client fills
/// its own socket buffer instead of the server's memory; while the channel cannot take more output (a client that
/// does not read its replies) nothing new starts and reads are held too, so its replies cannot pile up in the
/// server either (at most the calls in flight and the channel's high watermark). A line over the limit is answered after the calls before
/// it, then the connection closes; on graceful shutdown the connection answers what it had received, keeps reading
/// for a short drain window so that calls already sent (in the socket or decoded) are refused with the retry-later
/// error instead of lost, and closes once nothing runs and the window has ended; the idle timeout closes a connection with nothing in flight or waiting; a connection over the cap
/// gets the over-capacity error once its TLS handshake completes, then closes.
struct ConnectionStateMachine<Message> {
    enum Action {
        /// Run this message; report `callFinished` when its reply (if any) is ready.
        case start(Message)
        /// Write a reply line.
        case write(ByteBuffer)
        /// Write a last line, then close.
        case writeThenClose(ByteBuffer)
        case close
        /// Pass a read on to the channel (now, or one that was held).
        case read
        /// Answer this message with the shutting-down error at once (it arrived after the shutdown began).
        case refuse(Message)
        /// Call `drainWindowEnded` after the drain window.
        case scheduleDrainEnd
    }

    private enum Ending {
        case none
        case lineTooLong(limit: Int)
        case shuttingDown
        /// Closed or closing: nothing more is read, started, or written.
        case closed
    }

    let admitted: Bool
    let inFlightLimit: Int
    let maximumConnections: Int

    private(set) var inFlight = 0
    private var barrierRunning = false
    /// Messages received but not started, with whether each is a barrier. Small at first: most connections never
    /// queue, and every idle connection carries it.
    private var waiting = CircularBuffer<(message: Message, isBarrier: Bool)>(initialCapacity: 2)
    private var readHeld = false
    /// The channel takes more output (its outbound buffer is below the high watermark).
    private var writable = true
    private var ending = Ending.none
    /// While shutting down: calls may still be arriving that the client sent before it began.
    private var drainWindowOpen = false

    /// `admitted` false: the connection is over the server's cap and only waits for its handshake to be refused.
    init(admitted: Bool, inFlightLimit: Int, maximumConnections: Int) {
        self.admitted = admitted
        self.inFlightLimit = inFlightLimit
        self.maximumConnections = maximumConnections
    }

    var isClosed: Bool { if case .closed = ending { true } else { false } }

    // MARK: events

    mutating func received(_ message: Message, isBarrier: Bool) -> [Action] {
        if admitted, case .shuttingDown = ending { return [.refuse(message)] }
        guard admitted, case .none = ending else { return [] }
        waiting.append((message, isBarrier))
        return startWaiting()
    }

    mutating func lineTooLong(limit: Int) -> [Action] {
        guard admitted, case .none = ending else { return [] }
        ending = .lineTooLong(limit: limit)
        return startWaiting()
    }

    mutating func callFinished(reply: ByteBuffer?) -> [Action] {
        inFlight -= 1
        barrierRunning = false  // a barrier runs alone, so whatever finished, no barrier is running now
        if case .closed = ending { return [] }  // the client went away; its other calls are unaffected
        return (reply.map { [.write($0)] } ?? []) + startWaiting()
    }

    mutating func handshakeCompleted() -> [Action] {
        guard !admitted, !isClosed else { return [] }
        ending = .closed
        let error = RPCError(
            .overCapacity, "Over capacity: the server has \(maximumConnections) connections",
            reason: "too_many_connections", retryAfterMilliseconds: 1000, limit: maximumConnections)
        return [.writeThenClose(ReplyLine.line(Response(id: .null, body: .error(error))))]
    }

    mutating func gracefulShutdown() -> [Action] {
        guard case .none = ending else { return startWaiting() }
        ending = .shuttingDown
        guard admitted else { return startWaiting() }
        drainWindowOpen = true
        return [.scheduleDrainEnd] + startWaiting()
    }

    /// The drain window after the shutdown began has ended: the connection closes once nothing runs.
    mutating func drainWindowEnded() -> [Action] {
        drainWindowOpen = false
        return isClosed ? [] : startWaiting()
    }

    /// Nothing was received for the idle timeout: closes only a connection with nothing in flight or waiting.
    mutating func idleTimeout() -> [Action] {
        guard inFlight == 0, waiting.isEmpty, !isClosed else { return [] }
        ending = .closed
        return [.close]
    }

    mutating func errorCaught() -> [Action] {
        guard !isClosed else { return [] }
        ending = .closed
        return [.close]
    }

    /// The channel's outbound buffer crossed a watermark: above the high one the client is not reading its replies.
    mutating func writabilityChanged(isWritable: Bool) -> [Action] {
        writable = isWritable
        return isClosed ? [] : startWaiting()
    }

    mutating func channelInactive() {
        ending = .closed
        waiting.removeAll()
    }

    /// The channel asks to read: passed on, or held while anything waits, every slot is taken, or the connection
    /// is ending. A connection over the cap keeps reading: its handshake needs it.
    mutating func readRequested() -> [Action] {
        if holdingReads {
            readHeld = true
            return []
        }
        return [.read]
    }

    // MARK: rules

    private var holdingReads: Bool {
        guard admitted else { return false }
        if case .shuttingDown = ending { return false }  // read on, to refuse what was already sent
        guard case .none = ending else { return true }
        return !writable || !waiting.isEmpty || barrierRunning || inFlight >= inFlightLimit
    }

    /// Whether received messages may start: not while the client leaves its replies unread (on shutdown they start
    /// anyway: what was received is answered).
    private var startsAllowed: Bool {
        if case .none = ending { return writable }
        return true
    }

    /// Starts what may start, in order; finishes an ending once nothing is left; resumes held reads.
    private mutating func startWaiting() -> [Action] {
        var actions: [Action] = []
        while startsAllowed, !barrierRunning, let next = waiting.first {
            if next.isBarrier {
                guard inFlight == 0 else { break }
                barrierRunning = true
            } else {
                guard inFlight < inFlightLimit else { break }
            }
            waiting.removeFirst()
            inFlight += 1
            actions.append(.start(next.message))
        }
        if inFlight == 0, waiting.isEmpty {
            switch ending {
            case .lineTooLong(let limit):
                ending = .closed
                let error = RPCError(
                    .invalidRequest, "Invalid Request: line longer than the maximum of \(limit) bytes",
                    reason: "line_too_long", limit: limit)
                return actions + [.writeThenClose(ReplyLine.line(Response(id: .null, body: .error(error))))]
            case .shuttingDown where !drainWindowOpen:
                ending = .closed
                return actions + [.close]
            case .shuttingDown:
                break
            case .none, .closed:
                break
            }
        }
        if readHeld, !holdingReads {
            readHeld = false
            actions.append(.read)
        }
        return actions
    }
}

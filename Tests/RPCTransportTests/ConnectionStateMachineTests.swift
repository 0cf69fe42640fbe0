import JSONRPC
import NIOCore
import Testing

@testable import RPCTransport

/// The connection's rules, driven without sockets: each event's actions are checked exactly.
@Suite("Connection state machine")
struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine<String>

    /// The actions as short words, to compare whole sequences: start(x), write, write+close(reason), close, read.
    func names(_ actions: [Machine.Action]) -> [String] {
        actions.map {
            switch $0 {
            case .start(let message): "start(\(message))"
            case .write: "write"
            case .writeThenClose(let line):
                "write+close(\((try? JSONParser.parse(Array(line.readableBytesView)))?["error"]?["data"]?["reason"]?.stringValue ?? "?"))"
            case .close: "close"
            case .read: "read"
            case .refuse(let message): "refuse(\(message))"
            case .scheduleDrainEnd: "drain"
            }
        }
    }

    @Test("calls run concurrently up to the cap; reads are held while a message waits and resume when it starts")
    func inFlightCap() {
        var machine = Machine(admitted: true, inFlightLimit: 2, maximumConnections: 10)
        #expect(names(machine.readRequested()) == ["read"])
        #expect(names(machine.received("a", isBarrier: false)) == ["start(a)"])
        #expect(names(machine.received("b", isBarrier: false)) == ["start(b)"])
        #expect(names(machine.readRequested()) == [], "both slots taken: the read is held")
        #expect(names(machine.received("c", isBarrier: false)) == [], "c waits for a slot")
        #expect(machine.inFlight == 2)
        #expect(names(machine.callFinished(reply: ByteBuffer(bytes: [1]))) == ["write", "start(c)"], "c takes the freed slot; still full, reads stay held")
        #expect(names(machine.callFinished(reply: nil)) == ["read"], "a notification writes nothing; a slot is free: the held read goes on")
    }

    @Test("a client that does not read its replies: past the high watermark nothing new starts and reads are held, until it reads again")
    func unreadReplies() {
        var machine = Machine(admitted: true, inFlightLimit: 4, maximumConnections: 10)
        #expect(names(machine.received("a", isBarrier: false)) == ["start(a)"])
        #expect(names(machine.writabilityChanged(isWritable: false)) == [], "a's reply is still running; replies before it fill the buffer")
        #expect(names(machine.readRequested()) == [], "unwritable: the read is held although slots are free")
        #expect(names(machine.received("b", isBarrier: false)) == [], "b, already read, waits: its reply would have nowhere to go")
        #expect(names(machine.callFinished(reply: ByteBuffer(bytes: [1]))) == ["write"], "a's reply is queued; nothing new starts")
        #expect(names(machine.writabilityChanged(isWritable: true)) == ["start(b)", "read"], "the client read: b starts, slots are free, the held read goes on")
        #expect(names(machine.callFinished(reply: ByteBuffer(bytes: [1]))) == ["write"])
        // On shutdown what was received is answered even if the client does not read.
        #expect(names(machine.writabilityChanged(isWritable: false)) == [])
        #expect(names(machine.received("c", isBarrier: false)) == [])
        #expect(names(machine.gracefulShutdown()) == ["drain", "start(c)"])
    }

    @Test("a barrier runs alone: after the calls before it, before the calls after it")
    func barrier() {
        var machine = Machine(admitted: true, inFlightLimit: 8, maximumConnections: 10)
        #expect(names(machine.received("a", isBarrier: false)) == ["start(a)"])
        #expect(names(machine.received("auth", isBarrier: true)) == [], "waits for a")
        #expect(names(machine.received("b", isBarrier: false)) == [], "waits behind the barrier")
        #expect(names(machine.readRequested()) == [])
        #expect(names(machine.callFinished(reply: ByteBuffer(bytes: [1]))) == ["write", "start(auth)"])
        #expect(names(machine.callFinished(reply: ByteBuffer(bytes: [2]))) == ["write", "start(b)", "read"])
    }

    @Test("a line over the limit is answered after the calls before it, then the connection closes; nothing after it runs")
    func lineTooLong() {
        var machine = Machine(admitted: true, inFlightLimit: 4, maximumConnections: 10)
        #expect(names(machine.received("a", isBarrier: false)) == ["start(a)"])
        #expect(names(machine.lineTooLong(limit: 1024)) == [])
        #expect(names(machine.received("late", isBarrier: false)) == [], "nothing is read after the long line")
        #expect(names(machine.readRequested()) == [])
        #expect(names(machine.callFinished(reply: ByteBuffer(bytes: [1]))) == ["write", "write+close(line_too_long)"])
        #expect(machine.isClosed)
    }

    @Test("graceful shutdown answers what was received, refuses what arrives in the drain window, then closes")
    func gracefulShutdown() {
        var busy = Machine(admitted: true, inFlightLimit: 1, maximumConnections: 10)
        #expect(names(busy.received("a", isBarrier: false)) == ["start(a)"])
        #expect(names(busy.received("b", isBarrier: false)) == [])
        #expect(names(busy.readRequested()) == [], "b waits: reads are held")
        #expect(names(busy.gracefulShutdown()) == ["drain", "read"], "the held read goes on: what the client already sent is read")
        #expect(names(busy.received("c", isBarrier: false)) == ["refuse(c)"], "arrived after the shutdown began: refused at once, never lost")
        #expect(names(busy.readRequested()) == ["read"], "reads are not held while draining")
        #expect(names(busy.callFinished(reply: ByteBuffer(bytes: [1]))) == ["write", "start(b)"], "b was received before the shutdown: it is answered")
        #expect(names(busy.callFinished(reply: ByteBuffer(bytes: [2]))) == ["write"], "nothing runs, but the drain window is still open")
        #expect(names(busy.drainWindowEnded()) == ["close"])
        #expect(names(busy.received("d", isBarrier: false)) == [], "closed: nothing more")

        var idle = Machine(admitted: true, inFlightLimit: 1, maximumConnections: 10)
        #expect(names(idle.gracefulShutdown()) == ["drain"])
        #expect(names(idle.drainWindowEnded()) == ["close"])

        var slow = Machine(admitted: true, inFlightLimit: 1, maximumConnections: 10)
        #expect(names(slow.received("a", isBarrier: false)) == ["start(a)"])
        #expect(names(slow.gracefulShutdown()) == ["drain"])
        #expect(names(slow.drainWindowEnded()) == [], "a still runs")
        #expect(names(slow.callFinished(reply: ByteBuffer(bytes: [1]))) == ["write", "close"])
    }

    @Test("the idle timeout closes only a connection with nothing in flight")
    func idle() {
        var machine = Machine(admitted: true, inFlightLimit: 4, maximumConnections: 10)
        #expect(names(machine.received("a", isBarrier: false)) == ["start(a)"])
        #expect(names(machine.idleTimeout()) == [])
        #expect(names(machine.callFinished(reply: ByteBuffer(bytes: [1]))) == ["write"])
        #expect(names(machine.idleTimeout()) == ["close"])
        #expect(names(machine.idleTimeout()) == [], "closed once")
    }

    @Test("a connection over the cap keeps reading for its handshake, then gets the over-capacity error and closes")
    func overCapacity() {
        var machine = Machine(admitted: false, inFlightLimit: 4, maximumConnections: 3)
        #expect(names(machine.readRequested()) == ["read"])
        #expect(names(machine.received("a", isBarrier: false)) == [], "nothing of it runs")
        #expect(names(machine.handshakeCompleted()) == ["write+close(too_many_connections)"])
        var admitted = Machine(admitted: true, inFlightLimit: 4, maximumConnections: 3)
        #expect(names(admitted.handshakeCompleted()) == [])
    }

    @Test("once the client is gone, replies of calls still running are dropped and nothing more starts")
    func closedDropsReplies() {
        var machine = Machine(admitted: true, inFlightLimit: 1, maximumConnections: 10)
        #expect(names(machine.received("a", isBarrier: false)) == ["start(a)"])
        #expect(names(machine.received("b", isBarrier: false)) == [])
        machine.channelInactive()
        #expect(names(machine.callFinished(reply: ByteBuffer(bytes: [1]))) == [])
        #expect(machine.inFlight == 0)
    }
}

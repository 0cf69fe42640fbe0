import NIOCore
import Synchronization

/// The server's open client connections: admission against the connection cap, and the graceful drain at
/// shutdown (every connection is told to stop reading, answers what it has received, and closes; the drain
/// returns when the last one has closed).
final class ConnectionRegistry: Sendable {
    /// What a new connection is allowed to do.
    enum Admission: Sendable {
        /// Served normally.
        case admitted
        /// Over the cap: it gets the over-capacity error once its TLS handshake completes, then is closed.
        case overCapacity
        /// The server is shutting down: closed at once.
        case refused
    }

    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var admitted = 0
        var draining = false
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let maximumConnections: Int
    private let state = Mutex(State())

    init(maximumConnections: Int) { self.maximumConnections = maximumConnections }

    /// Connections being served (those refused over the cap are not counted).
    var admittedCount: Int { state.withLock { $0.admitted } }

    /// Registers a freshly accepted connection; it leaves the registry when it closes.
    func register(_ channel: any Channel) -> Admission {
        let id = ObjectIdentifier(channel)
        let admission = state.withLock { state -> Admission in
            guard !state.draining else { return .refused }
            let admitted = state.admitted < maximumConnections
            if admitted { state.admitted += 1 }
            state.channels[id] = channel
            return admitted ? .admitted : .overCapacity
        }
        switch admission {
        case .refused:
            channel.close(promise: nil)
        case .admitted, .overCapacity:
            let counted = admission == .admitted
            channel.closeFuture.whenComplete { _ in self.remove(id, counted: counted) }
        }
        return admission
    }

    private func remove(_ id: ObjectIdentifier, counted: Bool) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.channels[id] = nil
            if counted { state.admitted -= 1 }
            guard state.draining, state.channels.isEmpty else { return [] }
            defer { state.drainWaiters.removeAll() }
            return state.drainWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Refuses new connections, asks every open one to finish (`GracefulShutdownEvent`), and returns once all
    /// have closed.
    func drain() async {
        for channel in stopAdmitting() { channel.pipeline.fireUserInboundEventTriggered(GracefulShutdownEvent()) }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.channels.isEmpty { return true }
                state.drainWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Closes every connection at once (the server's task was cancelled rather than shut down gracefully).
    func closeAll() {
        for channel in stopAdmitting() { channel.close(promise: nil) }
    }

    /// Refuses connections from now on; returns those open.
    private func stopAdmitting() -> [any Channel] {
        state.withLock { state in
            state.draining = true
            return Array(state.channels.values)
        }
    }
}

/// Sent down every connection's pipeline on graceful shutdown.
struct GracefulShutdownEvent: Sendable {}

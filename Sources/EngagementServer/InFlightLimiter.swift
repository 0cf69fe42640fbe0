import Synchronization

/// Counts one connection's requests in flight and makes the reader wait when the cap is reached, which is
/// what turns a fast client into back-pressure (the server stops reading its socket) instead of a queue.
final class InFlightLimiter: Sendable {
    private struct State {
        var inFlight = 0
        var slotWaiters: [CheckedContinuation<Void, Never>] = []
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) { self.limit = limit }

    var inFlight: Int { state.withLock { $0.inFlight } }

    /// Takes a slot, waiting while all are taken.
    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.inFlight < limit {
                    state.inFlight += 1
                    return true
                }
                state.slotWaiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Gives a slot back: to a waiting reader, or wakes those waiting for the connection to go idle.
    func release() {
        let (slotWaiter, idleWaiters) = state.withLock { state -> (CheckedContinuation<Void, Never>?, [CheckedContinuation<Void, Never>]) in
            if !state.slotWaiters.isEmpty {
                return (state.slotWaiters.removeFirst(), [])  // the slot passes straight to the waiter
            }
            state.inFlight -= 1
            guard state.inFlight == 0 else { return (nil, []) }
            defer { state.idleWaiters.removeAll() }
            return (nil, state.idleWaiters)
        }
        slotWaiter?.resume()
        for waiter in idleWaiters { waiter.resume() }
    }

    /// Returns once nothing is in flight.
    func waitUntilIdle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { state -> Bool in
                if state.inFlight == 0 { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }
}

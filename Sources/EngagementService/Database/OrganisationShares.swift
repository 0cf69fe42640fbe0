import Foundation
import JSONRPC
import Synchronization

/// Runs `OrganisationShareStateMachine` for `TenantDatabase`: an organisation's call waits here for its share of
/// the pool, never behind another organisation's backlog in the pool's own queue.
///
/// A lock around the state machine, not an actor: a call within its share takes and returns it without
/// suspending, so a call's task stays on its event loop (as with `ConnectionPool`).
public final class OrganisationShares: Sendable {
    private struct State: ~Copyable {
        var machine: OrganisationShareStateMachine
        var waiters: [Int: (organisation: UUID, continuation: CheckedContinuation<Bool, Never>)] = [:]
        var nextWaiter = 0
        /// The task that wakes the state machine at its next deadline or refill, and when it is due.
        var alarm: (task: Task<Void, Never>, due: ContinuousClock.Instant, generation: Int)?
        var alarmGeneration = 0
        /// Answers that came for a queued waiter before its continuation was stored.
        var early: [Int: Bool] = [:]
    }
    private let state: Mutex<State>
    public let timeout: Duration

    public init(capacity: Int, contendedShare: Int, time: DatabaseTimeBudget? = nil, timeout: Duration) {
        state = Mutex(State(machine: OrganisationShareStateMachine(capacity: capacity, contendedShare: contendedShare, time: time)))
        self.timeout = timeout
    }

    /// Waits for a share; nil when none came within the timeout, else the call's lease (for `release`).
    func acquire(_ organisation: UUID) async -> Int? {
        let now = ContinuousClock.now
        let (id, proceed) = state.withLock { state in
            let id = state.nextWaiter
            state.nextWaiter += 1
            switch state.machine.acquire(organisation, waiter: id, deadline: now + timeout, now: now) {
            case .proceed: return (id, true)
            case .wait: return (id, false)
            }
        }
        if proceed { return id }
        // The state machine queued the waiter already; a release or wake before the continuation is stored
        // finds no continuation yet and leaves its answer in `early`.
        let admitted = await withCheckedContinuation { continuation in
            let answered: Bool? = state.withLock { state in
                if let early = state.early.removeValue(forKey: id) { return early }
                state.waiters[id] = (organisation, continuation)
                setAlarm(&state)
                return nil
            }
            if let answered { continuation.resume(returning: answered) }
        }
        return admitted ? id : nil
    }

    /// The call holding `lease` gives back the connection it held for `held` (charged to its organisation's
    /// database time).
    func release(_ organisation: UUID, lease: Int, held: Duration) {
        let admitted = state.withLock { state in
            let admitted = state.machine.release(organisation, waiter: lease, held: held, now: .now).map { answer(&state, $0, true) }
            setAlarm(&state)
            return admitted
        }
        for continuation in admitted { continuation?.resume(returning: true) }
    }

    /// The error a call gets when no share came in time.
    func refusal(_ organisation: UUID) -> RPCError {
        let busy = state.withLock { !$0.machine.mayStart(organisation, now: .now) }
        return RPCError(
            .overCapacity,
            busy ? "Over capacity: this organisation is using its whole share of the database; retry later"
                : "Over capacity: no database connection free; retry later",
            reason: busy ? "organisation_busy" : "database_pool_exhausted",
            retryAfterMilliseconds: 200)
    }

    /// The continuation to resume with `admitted` for waiter `id`; when it is not stored yet (the waiter is
    /// between queueing and suspending), the answer waits for it in `early`.
    private func answer(_ state: inout State, _ id: Int, _ admitted: Bool) -> CheckedContinuation<Bool, Never>? {
        if let waiter = state.waiters.removeValue(forKey: id) { return waiter.continuation }
        state.early[id] = admitted
        return nil
    }

    /// At most one alarm task, due at the state machine's next wake (the earliest deadline or refill); replaced
    /// when something is due sooner, none while nobody waits.
    private func setAlarm(_ state: inout State) {
        let now = ContinuousClock.now
        guard let due = state.machine.nextWake(now: now) else {
            state.alarm?.task.cancel()
            state.alarm = nil
            return
        }
        if let alarm = state.alarm, alarm.due <= due { return }
        state.alarm?.task.cancel()
        state.alarmGeneration += 1
        let generation = state.alarmGeneration
        state.alarm = (Task { [weak self] in
            try? await Task.sleep(until: due, clock: .continuous)
            self?.ring(generation)
        }, due, generation)
    }

    private func ring(_ generation: Int) {
        let (expired, admitted) = state.withLock { state -> ([CheckedContinuation<Bool, Never>?], [CheckedContinuation<Bool, Never>?]) in
            guard state.alarm?.generation == generation else { return ([], []) }
            state.alarm = nil
            let (expired, admitted) = state.machine.wake(now: .now)
            let answers = (expired.map { answer(&state, $0, false) }, admitted.map { answer(&state, $0, true) })
            setAlarm(&state)
            return answers
        }
        for continuation in expired { continuation?.resume(returning: false) }
        for continuation in admitted { continuation?.resume(returning: true) }
    }
}

import Foundation
import JSONRPC

/// Runs `OrganisationShareStateMachine` for `TenantDatabase`: an organisation's call waits here for its share of
/// the pool, never behind another organisation's backlog in the pool's own queue.
public actor OrganisationShares {
    private var state: OrganisationShareStateMachine
    private var waiters: [Int: (organisation: UUID, continuation: CheckedContinuation<Bool, Never>)] = [:]
    private var nextWaiter = 0
    /// The task that wakes the state machine at its next deadline or refill, and when it is due.
    private var alarm: (task: Task<Void, Never>, due: ContinuousClock.Instant, generation: Int)?
    private var alarmGeneration = 0
    public nonisolated let timeout: Duration

    public init(capacity: Int, contendedShare: Int, time: DatabaseTimeBudget? = nil, timeout: Duration) {
        state = OrganisationShareStateMachine(capacity: capacity, contendedShare: contendedShare, time: time)
        self.timeout = timeout
    }

    /// Waits for a share; nil when none came within the timeout, else the call's lease (for `release`).
    func acquire(_ organisation: UUID) async -> Int? {
        let id = nextWaiter
        nextWaiter += 1
        let now = ContinuousClock.now
        switch state.acquire(organisation, waiter: id, deadline: now + timeout, now: now) {
        case .proceed:
            return id
        case .wait:
            // The body runs on this actor before it suspends: the waiter and its continuation appear together.
            let admitted = await withCheckedContinuation { continuation in
                waiters[id] = (organisation, continuation)
                setAlarm()
            }
            return admitted ? id : nil
        }
    }

    /// The call holding `lease` gives back the connection it held for `held` (charged to its organisation's
    /// database time).
    func release(_ organisation: UUID, lease: Int, held: Duration) {
        for id in state.release(organisation, waiter: lease, held: held, now: .now) {
            waiters.removeValue(forKey: id)?.continuation.resume(returning: true)
        }
        setAlarm()
    }

    /// Whether the organisation may start no call now (a timed-out waiter's reason).
    func atShare(_ organisation: UUID) -> Bool { !state.mayStart(organisation, now: .now) }

    /// At most one alarm task, due at the state machine's next wake (the earliest deadline or refill); replaced
    /// when something is due sooner, none while nobody waits.
    private func setAlarm() {
        let now = ContinuousClock.now
        guard let due = state.nextWake(now: now) else {
            alarm?.task.cancel()
            alarm = nil
            return
        }
        if let alarm, alarm.due <= due { return }
        alarm?.task.cancel()
        alarmGeneration += 1
        let generation = alarmGeneration
        alarm = (Task { [weak self] in
            try? await Task.sleep(until: due, clock: .continuous)
            await self?.ring(generation)
        }, due, generation)
    }

    private func ring(_ generation: Int) {
        guard alarm?.generation == generation else { return }
        alarm = nil
        let (expired, admitted) = state.wake(now: .now)
        for id in expired { waiters.removeValue(forKey: id)?.continuation.resume(returning: false) }
        for id in admitted { waiters.removeValue(forKey: id)?.continuation.resume(returning: true) }
        setAlarm()
    }

    /// The error a call gets when no share came in time.
    func refusal(_ organisation: UUID) -> RPCError {
        let busy = atShare(organisation)
        return RPCError(
            .overCapacity,
            busy ? "Over capacity: this organisation is using its whole share of the database; retry later"
                : "Over capacity: no database connection free; retry later",
            reason: busy ? "organisation_busy" : "database_pool_exhausted",
            retryAfterMilliseconds: 200)
    }
}

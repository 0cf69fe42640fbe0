import Foundation
import JSONRPC

/// Runs `OrganisationShareStateMachine` for `TenantDatabase`: an organisation's call waits here for its share of
/// the pool, never behind another organisation's backlog in the pool's own queue.
public actor OrganisationShares {
    private var state: OrganisationShareStateMachine
    private var waiters: [Int: (organisation: UUID, continuation: CheckedContinuation<Bool, Never>)] = [:]
    private var nextWaiter = 0
    private var expiry: Task<Void, Never>?
    public nonisolated let timeout: Duration

    public init(capacity: Int, contendedShare: Int, timeout: Duration) {
        state = OrganisationShareStateMachine(capacity: capacity, contendedShare: contendedShare)
        self.timeout = timeout
    }

    /// Waits for a share; false when none came within the timeout.
    func acquire(_ organisation: UUID) async -> Bool {
        let id = nextWaiter
        nextWaiter += 1
        let now = ContinuousClock.now
        switch state.acquire(organisation, waiter: id, deadline: now + timeout, now: now) {
        case .proceed:
            return true
        case .wait:
            // The body runs on this actor before it suspends: the waiter and its continuation appear together.
            let admitted = await withCheckedContinuation { continuation in
                waiters[id] = (organisation, continuation)
                scheduleExpiry()
            }
            return admitted
        }
    }

    func release(_ organisation: UUID) {
        for id in state.release(organisation, now: .now) { waiters.removeValue(forKey: id)?.continuation.resume(returning: true) }
    }

    /// Whether the organisation holds all it may now (a timed-out waiter's reason).
    func atShare(_ organisation: UUID) -> Bool { state.holding(organisation) >= state.limit(organisation, now: .now) }

    /// One task while anyone waits: wakes at the earliest deadline and fails the waiters past theirs. (Every
    /// waiter has the same timeout, so a later waiter never has an earlier deadline.)
    private func scheduleExpiry() {
        guard expiry == nil else { return }
        expiry = Task { [weak self] in
            while let deadline = await self?.nextDeadlineOrFinish() {
                try? await Task.sleep(until: deadline, clock: .continuous)
                await self?.expireWaiters()
            }
        }
    }

    /// The next deadline; none left ends the expiry task in the same step (so a new waiter starts another).
    private func nextDeadlineOrFinish() -> ContinuousClock.Instant? {
        guard let deadline = state.nextDeadline else {
            expiry = nil
            return nil
        }
        return deadline
    }

    private func expireWaiters() {
        for id in state.expire(now: .now) { waiters.removeValue(forKey: id)?.continuation.resume(returning: false) }
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

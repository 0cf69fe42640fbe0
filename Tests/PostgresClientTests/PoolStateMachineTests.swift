import Testing

@testable import PostgresClient

/// The pool's rules without a database: connections are plain strings here.
@Suite("Pool state machine")
struct PoolStateMachineTests {
    typealias Machine = PoolStateMachine<String>
    let start = ContinuousClock.now

    func waiter(_ action: Machine.AcquireAction) -> Machine.Waiter? {
        if case .wait(let waiter) = action { return waiter }
        return nil
    }

    @Test("slots open up to the maximum, idle connections are reused first, then callers wait with a deadline")
    func leasing() throws {
        var pool = Machine(maximumConnections: 2, acquireTimeout: .seconds(5))
        guard case .open = pool.acquire(now: start), case .open = pool.acquire(now: start) else {
            Issue.record("two slots open"); return
        }
        #expect(pool.slotsInUse == 2)
        let first = try #require(waiter(pool.acquire(now: start)))
        pool.enqueue(first)
        #expect(first.deadline == start + .seconds(5))
        // A released connection goes to the waiter, not to the idle list.
        guard case .handOver(let id, let connection) = pool.release("c1", isNew: true, replacedBroken: false) else {
            Issue.record("handed over"); return
        }
        #expect(id == first.id && connection == "c1")
        #expect(pool.idle.isEmpty && pool.waiters.isEmpty && pool.opened == 1)
        // Nobody waits: back to the idle list, and the next caller reuses it.
        guard case .keptIdle = pool.release("c1", isNew: false, replacedBroken: false),
            case .use(let reused) = pool.acquire(now: start)
        else { Issue.record("kept idle, then reused"); return }
        #expect(reused == "c1")
    }

    @Test("a broken connection frees its slot, or passes it to a waiter, who opens a fresh one")
    func broken() throws {
        var pool = Machine(maximumConnections: 1, acquireTimeout: .seconds(5))
        _ = pool.acquire(now: start)
        let next = try #require(waiter(pool.acquire(now: start)))
        pool.enqueue(next)
        guard case .handOver(_, let connection) = pool.release(nil, isNew: false, replacedBroken: true) else {
            Issue.record("handed over"); return
        }
        #expect(connection == nil, "the waiter opens a connection in the slot it takes over")
        #expect(pool.slotsInUse == 1 && pool.replaced == 1)
        guard case .freedSlot = pool.release(nil, isNew: false, replacedBroken: false) else { Issue.record("freed"); return }
        #expect(pool.slotsInUse == 0)
    }

    @Test("waiters expire at their deadline, oldest first; a cancelled one leaves the queue")
    func deadlines() throws {
        var pool = Machine(maximumConnections: 1, acquireTimeout: .seconds(1))
        _ = pool.acquire(now: start)
        let a = try #require(waiter(pool.acquire(now: start)))
        pool.enqueue(a)
        let b = try #require(waiter(pool.acquire(now: start + .milliseconds(500))))
        pool.enqueue(b)
        let c = try #require(waiter(pool.acquire(now: start + .milliseconds(600))))
        pool.enqueue(c)
        #expect(pool.nextDeadline == a.deadline)
        let cancelled = pool.cancel(waiterID: b.id)
        let cancelledAgain = pool.cancel(waiterID: b.id)
        #expect(cancelled && !cancelledAgain, "cancelled once")
        let early = pool.expire(now: start + .milliseconds(999))
        #expect(early.isEmpty)
        let late = pool.expire(now: start + .milliseconds(1_600))
        #expect(late == [a.id, c.id])
        #expect(pool.nextDeadline == nil)
    }

    @Test("after shutdown nothing is handed out, waiters fail, idle connections close and returning ones are closed")
    func shutdown() throws {
        // Both slots leased, one caller waiting.
        var pool = Machine(maximumConnections: 2, acquireTimeout: .seconds(5))
        _ = pool.acquire(now: start)
        _ = pool.acquire(now: start)
        let waiting = try #require(waiter(pool.acquire(now: start)))
        pool.enqueue(waiting)
        let (failed, closing) = pool.shutdown()
        #expect(failed == [waiting.id] && closing.isEmpty)
        // One comes back while shutting down: closed, not idle.
        guard case .close("first") = pool.release("first", isNew: false, replacedBroken: false) else { Issue.record("closed"); return }
        #expect(pool.slotsInUse == 1, "one connection is still leased")
        guard case .fail = pool.acquire(now: start) else { Issue.record("refused"); return }
        guard case .close(let leased) = pool.release("leased", isNew: false, replacedBroken: false) else { Issue.record("closed"); return }
        #expect(leased == "leased" && pool.slotsInUse == 0)
        // A pool with an idle connection closes it at shutdown.
        var idlePool = Machine(maximumConnections: 2, acquireTimeout: .seconds(5))
        _ = idlePool.acquire(now: start)
        _ = idlePool.release("idle", isNew: true, replacedBroken: false)
        let (_, closingIdle) = idlePool.shutdown()
        #expect(closingIdle == ["idle"] && idlePool.slotsInUse == 0)
        let again = pool.shutdown()
        #expect(again.waiters.isEmpty && again.idle.isEmpty, "a second shutdown does nothing")
    }

    @Test("a health check takes the stale idle connections out and gets them back")
    func healthCheck() {
        var pool = Machine(maximumConnections: 3, acquireTimeout: .seconds(5))
        for _ in 0..<3 { _ = pool.acquire(now: start) }
        for name in ["old1", "fresh", "old2"] { _ = pool.release(name, isNew: true, replacedBroken: false) }
        let stale = pool.takeIdle(where: { $0.hasPrefix("old") })
        #expect(stale == ["old1", "old2"] && pool.idle == ["fresh"] && pool.slotsInUse == 3)
        _ = pool.release("old1", isNew: false, replacedBroken: false)
        _ = pool.release(nil, isNew: false, replacedBroken: false)  // old2 was dead
        #expect(pool.idle == ["fresh", "old1"] && pool.slotsInUse == 2)
    }
}

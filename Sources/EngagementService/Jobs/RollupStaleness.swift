import Foundation

/// Which organisations' maintained rollups are stale and when to refresh them: the rules of `RollupRefresher`, as
/// a plain state machine (tested without a database or clock).
///
/// - A notification names the organisation a write changed; it is refreshed `debounce` after the first
///   notification of a burst, so a burst of writes costs one refresh of that organisation.
/// - After refreshing, nothing starts again for twice as long as the refresh took, so refreshing never takes
///   more than a third of the time; an organisation whose refresh was running elsewhere is stale again from now.
/// - A notification without an organisation (a write outside any tenant context) and a (re)connection of the
///   listener (writes may have happened while nobody listened) call for a round of every organisation, one at a
///   time beside the organisations' own refreshes (a round of a large deployment takes minutes; the writes made
///   meanwhile do not wait for it). Calls for a round while one runs make one more round after it.
public struct RollupStaleness: Sendable {
    public let debounce: Duration
    private var staleSince: [UUID: ContinuousClock.Instant] = [:]
    private var notBefore: ContinuousClock.Instant?
    private var roundWantedSince: ContinuousClock.Instant?
    private(set) public var roundRunning = false

    public init(debounce: Duration) { self.debounce = debounce }

    public var isIdle: Bool { roundWantedSince == nil && staleSince.isEmpty && !roundRunning }

    /// A write of `organisation` (nil: of unknown ones) was committed, or the listener (re)connected (nil).
    public mutating func stale(_ organisation: UUID?, at now: ContinuousClock.Instant) {
        if let organisation {
            staleSince[organisation] = staleSince[organisation] ?? now
        } else {
            roundWantedSince = roundWantedSince ?? now
        }
    }

    /// The organisations due now and since when the oldest of their writes waits, taken off the stale set (call
    /// `finished` when they are done).
    public mutating func due(at now: ContinuousClock.Instant) -> (organisations: [UUID], since: ContinuousClock.Instant)? {
        if let notBefore, now < notBefore { return nil }
        let ripe = staleSince.filter { now - $0.value >= debounce }
        guard let oldest = ripe.values.min() else { return nil }
        for organisation in ripe.keys { staleSince[organisation] = nil }
        return (ripe.keys.sorted { $0.uuidString < $1.uuidString }, oldest)
    }

    /// The organisations' refresh that began at `started` ended now; `skipped` ones were being refreshed elsewhere.
    public mutating func finished(skipped: [UUID], started: ContinuousClock.Instant, now: ContinuousClock.Instant) {
        for organisation in skipped { stale(organisation, at: now) }
        notBefore = now + (now - started) * 2
    }

    /// Whether a round of every organisation starts now (call `roundFinished` when it is done).
    public mutating func startRound(at now: ContinuousClock.Instant) -> Bool {
        guard !roundRunning, let since = roundWantedSince, now - since >= debounce else { return false }
        roundWantedSince = nil
        roundRunning = true
        return true
    }

    public mutating func roundFinished(skipped: [UUID], now: ContinuousClock.Instant) {
        roundRunning = false
        for organisation in skipped { stale(organisation, at: now) }
    }
}

import Foundation
import Synchronization

/// Each organisation's request budget: a token bucket refilled at `rate` calls a second up to `burst`. An
/// authenticated call takes a token or learns how long until the next one (the dispatcher waits that long, up to
/// a bound, then refuses with `-32005 rate_limited`).
/// A plain state machine (the caller passes the time); `RequestBudgets` shares one between connections.
public struct RequestBudget: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    public let rate: Double
    public let burst: Double
    /// Buckets kept at most; full ones are forgotten first (a full bucket is the same as none).
    public let capacity: Int
    private var buckets: [UUID: Bucket] = [:]

    public init(rate: Double, burst: Double, capacity: Int = 100_000) {
        precondition(rate > 0 && burst >= 1)
        self.rate = rate
        self.burst = burst
        self.capacity = capacity
    }

    /// nil: the call may go ahead (a token was taken); otherwise how long until a token is there.
    public mutating func take(_ organisation: UUID, now: ContinuousClock.Instant) -> Duration? {
        var bucket = buckets[organisation] ?? Bucket(tokens: burst, updated: now)
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated).seconds * rate)
        bucket.updated = now
        defer {
            buckets[organisation] = bucket
            if buckets.count > capacity { forgetFull(now: now) }
        }
        if bucket.tokens >= 1 {
            bucket.tokens -= 1
            return nil
        }
        return .milliseconds(Int(((1 - bucket.tokens) / rate * 1000).rounded(.up)))
    }

    mutating func forgetFull(now: ContinuousClock.Instant) {
        buckets = buckets.filter { _, bucket in
            let elapsed = now - bucket.updated
            return bucket.tokens + Double(elapsed.components.seconds) * rate < burst
        }
    }
}

/// The server's budgets, shared by every connection; nil rate: no budget.
public final class RequestBudgets: Sendable {
    private let state: Mutex<RequestBudget>

    public init(_ budget: RequestBudget) { state = Mutex(budget) }

    func take(_ organisation: UUID) -> Duration? { state.withLock { $0.take(organisation, now: .now) } }
}

import Foundation

/// What an organisation's calls cost the database, as ElectrumX weighs its sessions: the time their connections
/// were held, not their number. A token bucket of database time per organisation, refilled at `rate` (seconds of
/// database time a second) up to `burst`; each call's hold time is charged when it gives its connection back,
/// down to a debt of `burst` at most (one long call costs a bounded wait, not minutes).
///
/// `OrganisationShareStateMachine` consults it only while another organisation is active: then an organisation
/// with no time left waits until it has some. Counting connections cannot do this on a small machine, where one
/// connection kept busy by a flood already takes a core from everybody else (Benchmarks/README.md, "Fairness").
/// A plain value: the caller passes the time.
public struct DatabaseTimeBudget: Sendable, Equatable {
    struct Bucket: Equatable {
        var seconds: Double
        var updated: ContinuousClock.Instant
    }

    /// Seconds of database time an organisation earns a second.
    public let rate: Double
    /// The most it can save up, and the most it can owe.
    public let burst: Double
    private var buckets: [UUID: Bucket] = [:]

    /// `perSecond` of database time a second, saving up at most a quarter of a second's worth.
    public init(perSecond: Duration) {
        rate = perSecond.seconds
        burst = rate / 4
        precondition(rate > 0)
    }

    /// The organisation's time left now (negative: its debt).
    public func balance(_ organisation: UUID, now: ContinuousClock.Instant) -> Double {
        guard let bucket = buckets[organisation] else { return burst }
        return min(burst, bucket.seconds + (now - bucket.updated).seconds * rate)
    }

    /// Whether the organisation may start a call now.
    public func allows(_ organisation: UUID, now: ContinuousClock.Instant) -> Bool {
        balance(organisation, now: now) > 0
    }

    /// When the organisation may start a call again (nil: it may now).
    public func availableAt(_ organisation: UUID, now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        let balance = balance(organisation, now: now)
        guard balance <= 0 else { return nil }
        // The instant its balance turns positive, plus a microsecond so that it is positive there.
        return now + .microseconds(Int((-balance / rate * 1e6).rounded(.up)) + 1)
    }

    /// Charges a call's hold time to its organisation.
    public mutating func charge(_ organisation: UUID, held: Duration, now: ContinuousClock.Instant) {
        let left = max(-burst, balance(organisation, now: now) - held.seconds)
        if left >= burst {
            buckets[organisation] = nil
        } else {
            buckets[organisation] = Bucket(seconds: left, updated: now)
        }
    }

    /// Forgets the buckets that are full again (a full bucket is the same as none).
    public mutating func forgetFull(now: ContinuousClock.Instant) {
        buckets = buckets.filter { organisation, _ in balance(organisation, now: now) < burst }
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

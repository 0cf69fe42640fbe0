import Foundation

/// What an organisation's calls cost the database, as ElectrumX weighs its sessions: the time their connections
/// were held, not their number. A token bucket of database time per organisation, refilled at `rate` (seconds of
/// database time a second) up to `burst`. A call starting reserves what the organisation's calls typically take
/// (so an organisation with a little time left starts one call, not as many as it has connections), and when it
/// gives its connection back the reservation is settled against the time it held it, down to a debt of `burst`
/// at most (one long call costs a bounded wait, not minutes).
///
/// `OrganisationShareStateMachine` consults it only while another organisation is active: then an organisation
/// with no time left waits until it has some. Counting connections cannot do this on a small machine, where one
/// connection kept busy by a flood already takes a core from everybody else (Benchmarks/README.md, "Fairness").
/// A plain value: the caller passes the time.
public struct DatabaseTimeBudget: Sendable, Equatable {
    struct Bucket: Equatable {
        var seconds: Double
        var updated: ContinuousClock.Instant
        /// What the organisation's calls typically hold a connection for (a moving average), reserved at a start.
        var typicalCall: Double
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

    /// A call of the organisation starts: reserves what its calls typically take; returns the reservation.
    public mutating func reserve(_ organisation: UUID, now: ContinuousClock.Instant) -> Double {
        var bucket = current(organisation, now: now)
        let before = bucket.seconds
        bucket.seconds = max(-burst, before - bucket.typicalCall)
        buckets[organisation] = bucket
        return before - bucket.seconds
    }

    /// A call that `reserved` so much gave its connection back after holding it for `held`: settles the difference.
    public mutating func settle(_ organisation: UUID, reserved: Double, held: Duration, now: ContinuousClock.Instant) {
        var bucket = current(organisation, now: now)
        bucket.seconds = max(-burst, min(burst, bucket.seconds + reserved - held.seconds))
        bucket.typicalCall += (held.seconds - bucket.typicalCall) / 8
        buckets[organisation] = bucket
    }

    /// The organisation's bucket refilled up to now (a new one is full, expecting calls of a millisecond).
    private func current(_ organisation: UUID, now: ContinuousClock.Instant) -> Bucket {
        guard var bucket = buckets[organisation] else { return Bucket(seconds: burst, updated: now, typicalCall: 0.001) }
        bucket.seconds = balance(organisation, now: now)
        bucket.updated = now
        return bucket
    }

    /// Forgets the buckets that are full again (a full bucket is the same as none but for its typical call).
    public mutating func forgetFull(now: ContinuousClock.Instant) {
        buckets = buckets.filter { organisation, _ in balance(organisation, now: now) < burst }
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

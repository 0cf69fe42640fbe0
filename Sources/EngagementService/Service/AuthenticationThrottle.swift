import Synchronization

/// Failed `session.authenticate` attempts, counted per connection and per source address: after `burst`
/// failures within `window`, every attempt from there (a right key too) is refused until a backoff has passed
/// that starts at `initialBackoff` and doubles with each failure beyond the burst, up to `maximumBackoff`. A
/// success clears its connection's count, never its address's (an attacker holding one valid key cannot reset
/// the count between guesses). A plain state machine: the caller passes the time, tests need no clock or socket.
public struct AuthenticationThrottle: Sendable {
    public struct Policy: Sendable, Hashable {
        public var burst: Int
        public var window: Duration
        public var initialBackoff: Duration
        public var maximumBackoff: Duration

        public init(burst: Int, window: Duration, initialBackoff: Duration = .seconds(1), maximumBackoff: Duration = .seconds(300)) {
            self.burst = burst
            self.window = window
            self.initialBackoff = initialBackoff
            self.maximumBackoff = maximumBackoff
        }
    }

    public enum Key: Sendable, Hashable {
        case connection(UInt64)
        case address(String)
    }

    public enum Decision: Sendable, Equatable {
        case allow
        case refuse(retryAfter: Duration)
    }

    struct Record {
        var failures: [ContinuousClock.Instant] = []
        var blockedUntil: ContinuousClock.Instant?
    }

    public let perConnection: Policy
    public let perAddress: Policy
    /// Records kept at most (addresses seen failing); beyond it the stale ones go first, then the oldest.
    public let capacity: Int
    private(set) var records: [Key: Record] = [:]
    /// How many keys it remembers now.
    public var recordCount: Int { records.count }

    public init(perConnection: Policy, perAddress: Policy, capacity: Int = 10_000) {
        self.perConnection = perConnection
        self.perAddress = perAddress
        self.capacity = capacity
    }

    func policy(_ key: Key) -> Policy {
        switch key {
        case .connection: perConnection
        case .address: perAddress
        }
    }

    /// May an attempt under these keys go ahead now?
    public func check(_ keys: [Key], now: ContinuousClock.Instant) -> Decision {
        let waits = keys.compactMap { records[$0]?.blockedUntil }.filter { $0 > now }.map { $0 - now }
        guard let longest = waits.max() else { return .allow }
        return .refuse(retryAfter: longest)
    }

    /// A failed attempt: counts for every key; a key over its burst is blocked for its backoff.
    public mutating func recordFailure(_ keys: [Key], now: ContinuousClock.Instant) {
        for key in keys {
            let policy = policy(key)
            var record = records[key] ?? Record()
            record.failures = record.failures.filter { now - $0 < policy.window } + [now]
            let beyond = record.failures.count - policy.burst
            if beyond > 0 {
                let doubled = policy.initialBackoff * (1 << min(beyond - 1, 20))
                record.blockedUntil = now + min(doubled, policy.maximumBackoff)
            }
            records[key] = record
        }
        if records.count > capacity { prune(now: now) }
    }

    /// A successful attempt clears its connection's count.
    public mutating func recordSuccess(connection: UInt64) {
        records[.connection(connection)] = nil
    }

    /// Forgets records with no failure in their window and no block in force; then, while still over capacity,
    /// the records whose latest failure is oldest.
    mutating func prune(now: ContinuousClock.Instant) {
        records = records.filter { key, record in
            let recent = record.failures.last.map { now - $0 < policy(key).window } ?? false
            return recent || (record.blockedUntil.map { $0 > now } ?? false)
        }
        if records.count > capacity {
            let oldestFirst = records.sorted { ($0.value.failures.last ?? now) < ($1.value.failures.last ?? now) }
            for (key, _) in oldestFirst.prefix(records.count - capacity) { records[key] = nil }
        }
    }
}

/// The server's one throttle, shared by every connection.
public final class AuthenticationGuard: Sendable {
    private let state: Mutex<AuthenticationThrottle>

    public init(_ throttle: AuthenticationThrottle) { state = Mutex(throttle) }

    static func keys(_ session: Session) -> [AuthenticationThrottle.Key] {
        [.connection(session.connectionID)] + (session.peer.map { [.address($0)] } ?? [])
    }

    func check(_ session: Session) -> AuthenticationThrottle.Decision {
        let keys = Self.keys(session)
        return state.withLock { $0.check(keys, now: .now) }
    }

    func recordFailure(_ session: Session) {
        let keys = Self.keys(session)
        state.withLock { $0.recordFailure(keys, now: .now) }
    }

    func recordSuccess(_ session: Session) {
        state.withLock { $0.recordSuccess(connection: session.connectionID) }
    }
}

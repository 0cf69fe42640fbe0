import Prometheus
import Synchronization

/// The server's Prometheus metrics, one registry per server instance (two servers in one process, as in the
/// tests, never mix their figures). Metric objects are made once and cached (per method and outcome for calls),
/// never per call. Gauges that describe a state (pool, connections) are read by `collectors` just before each
/// scrape rather than kept up to date on every change. The names and what they mean: docs/operations.md.
public final class ServiceMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    /// Buckets of the latency histograms, in seconds: from a cached point read to a slow report.
    static let latencyBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
        .seconds(5), .seconds(10), .seconds(30),
    ]

    private struct MethodMetrics {
        let duration: DurationHistogram
        var calls: [String: Counter] = [:]
    }

    private let methods = Mutex<[String: MethodMetrics]>([:])
    private let collectors = Mutex<[@Sendable () async -> Void]>([])

    // The database pool (set by a collector before each scrape, except the wait histogram).
    public let poolMaximum: Gauge
    public let poolOpen: Gauge
    public let poolIdle: Gauge
    public let poolWaiting: Gauge
    public let poolWait: DurationHistogram
    public let poolReplacedTotal: Counter
    // Client connections.
    public let connectionsOpen: Gauge
    private let refused = Mutex<[String: Counter]>([:])
    private let handshakeFailures = Mutex<[String: Counter]>([:])
    private let reportReads = Mutex<[String: Counter]>([:])
    // Background work.
    public let rollupRefresh: DurationHistogram
    public let rollupLag: Gauge
    public let rollupRefreshesSkipped: Counter

    public init() {
        let r = registry
        poolMaximum = r.makeGauge(descriptor: .engagement("db_pool_max", "connections", "Most database connections the pool may open"))
        poolOpen = r.makeGauge(descriptor: .engagement("db_pool", "connections", "Database connections open or being opened"))
        poolIdle = r.makeGauge(descriptor: .engagement("db_pool_idle", "connections", "Open database connections not leased"))
        poolWaiting = r.makeGauge(descriptor: .engagement("db_pool", "waiters", "Calls waiting for a database connection"))
        poolWait = r.makeDurationHistogram(
            descriptor: .engagement("db_pool_wait", "seconds", "Time a call waited for its database connection (organisation share and pool)"),
            buckets: Self.latencyBuckets)
        poolReplacedTotal = r.makeCounter(
            descriptor: .engagement("db_pool_replaced_connections", "total", "Broken database connections replaced"))
        connectionsOpen = r.makeGauge(descriptor: .engagement("client", "connections", "Client connections being served"))
        rollupRefresh = r.makeDurationHistogram(
            descriptor: .engagement("rollup_refresh", "seconds", "Duration of one organisation's rollup refresh"), buckets: Self.latencyBuckets)
        rollupLag = r.makeGauge(
            descriptor: .engagement("rollup_lag", "seconds", "At the last refresh, seconds from the first write it covered to the refreshed rollups"))
        rollupRefreshesSkipped = r.makeCounter(
            descriptor: .engagement("rollup_refreshes_skipped", "total", "Organisation refreshes put off because another instance was refreshing that organisation"))
    }

    /// Counts one call and records its duration; `outcome` is `ok` or the JSON-RPC error code.
    public func recordCall(method: String, outcome: String, duration: Duration) {
        let counter = methods.withLock { methods -> Counter in
            var entry = methods[method] ?? MethodMetrics(
                duration: registry.makeDurationHistogram(
                    descriptor: .engagement("rpc_duration", "seconds", "Time from a request's arrival at the dispatcher to its reply"),
                    labels: [("method", method)], buckets: Self.latencyBuckets))
            let counter = entry.calls[outcome] ?? registry.makeCounter(
                descriptor: .engagement("rpc_calls", "total", "JSON-RPC calls by method and outcome (ok or the error code)"),
                labels: [("method", method), ("outcome", outcome)])
            entry.calls[outcome] = counter
            methods[method] = entry
            entry.duration.record(duration)
            return counter
        }
        counter.increment()
    }

    /// A connection closed without being served: `over_capacity` or `shutting_down`.
    public func connectionRefused(reason: String) {
        counter(in: refused, .engagement("client_connections_refused", "total", "Client connections refused"), reason: reason).increment()
    }

    /// A TLS handshake that did not complete: `timeout`, `error` (bad certificate, not TLS) or `closed`.
    public func handshakeFailed(reason: String) {
        counter(in: handshakeFailures, .engagement("tls_handshake_failures", "total", "TLS handshakes that did not complete"), reason: reason)
            .increment()
    }

    /// A report read with a replica configured: which served it (`replica`, `primary`) and why (`fresh`; `behind`,
    /// `unavailable`, `refused` when the primary did).
    public func replicaRead(servedBy: String, reason: String) {
        counter(
            in: reportReads, .engagement("report_reads", "total", "Report reads with a replica configured, by which database served them and why"),
            labels: [("served_by", servedBy), ("reason", reason)]
        ).increment()
    }

    private func counter(in cache: borrowing Mutex<[String: Counter]>, _ descriptor: MetricNameDescriptor, reason: String) -> Counter {
        counter(in: cache, descriptor, labels: [("reason", reason)])
    }

    private func counter(
        in cache: borrowing Mutex<[String: Counter]>, _ descriptor: MetricNameDescriptor, labels: [(String, String)]
    ) -> Counter {
        let key = labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        return cache.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = registry.makeCounter(descriptor: descriptor, labels: labels)
            cache[key] = counter
            return counter
        }
    }

    /// Adds work run before every scrape (reading the pool's and the server's state into gauges).
    public func addCollector(_ collect: @escaping @Sendable () async -> Void) {
        collectors.withLock { $0.append(collect) }
    }

    /// The Prometheus text exposition (format 0.0.4) of every metric, after running the collectors.
    public func scrape() async -> [UInt8] {
        for collect in collectors.withLock({ $0 }) { await collect() }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

extension MetricNameDescriptor {
    /// `engagement_<name>_<unit>`, with its help text.
    static func engagement(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "engagement", metricName: name, unitName: unit, helpText: help)
    }
}

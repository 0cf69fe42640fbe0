import EngagementClient
import Foundation
import Histogram
import JSONRPC

/// What one connection measured.
struct WorkerResult: Sendable {
    var latencies = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    var calls = 0
    var errors: [Int: Int] = [:]
}

/// One connection keeping `depth` requests in flight until `end` — or, with a `rate`, sending one call at each
/// tick of a fixed schedule (a late reply delays the next call; missed ticks are not made up); calls started from
/// `measureFrom` and answered by `end` are recorded (latency in microseconds, send to reply).
struct Worker: Sendable {
    let connection: RPCConnection
    let engagements: [String]
    let scenario: Scenario
    let depth: Int
    var rate: Double? = nil

    func run(measureFrom: ContinuousClock.Instant, end: ContinuousClock.Instant) async throws -> WorkerResult {
        var result = WorkerResult()
        var random = SystemRandomNumberGenerator()
        var started: [Int: ContinuousClock.Instant] = [:]
        var nextID = 1
        func send() async throws {
            let (method, params) = scenario.call(engagements: engagements, random: &random)
            let id = nextID
            nextID += 1
            started[id] = .now
            try await connection.send(line: JSONWriter.string([
                "jsonrpc": "2.0", "id": .number(String(id)), "method": .string(method), "params": params,
            ]))
        }
        let interval = rate.map { Duration.seconds(1 / $0) }
        var tick = ContinuousClock.now
        for _ in 0..<depth { try await send() }
        while !started.isEmpty {
            guard let line = try await connection.nextLine(timeout: .seconds(60)) else { break }
            let now = ContinuousClock.now
            let reply = try ReplySummary(line)
            guard let id = reply.id, let sentAt = started.removeValue(forKey: id) else { continue }
            if sentAt >= measureFrom && now <= end {
                let elapsed = (now - sentAt).components
                _ = result.latencies.record(UInt64(elapsed.seconds) * 1_000_000 + UInt64(elapsed.attoseconds / 1_000_000_000_000))
                result.calls += 1
                if let code = reply.errorCode { result.errors[code, default: 0] += 1 }
            }
            if let interval {
                // The next tick after now: a slow reply skips ticks rather than bursting to catch up.
                repeat { tick += interval } while tick < now
                guard tick < end else { break }
                try await Task.sleep(until: tick)
            }
            if ContinuousClock.now < end { try await send() }
        }
        return result
    }
}

/// A reply's id and error code. The server writes `{"jsonrpc":"2.0","result":…,"id":N}` or
/// `{"jsonrpc":"2.0","error":{"code":C,…},"id":N}`; those are read from both ends of the line without parsing
/// the result (the load generator shares the machine with the server, so its own cost counts), anything else is
/// parsed in full.
struct ReplySummary {
    let id: Int?
    let errorCode: Int?

    private static let resultPrefix = Array(#"{"jsonrpc":"2.0","result":"#.utf8)
    private static let errorPrefix = Array(#"{"jsonrpc":"2.0","error":{"code":"#.utf8)
    private static let idKey = Array(#","id":"#.utf8)

    init(_ line: [UInt8]) throws {
        if let id = Self.trailingID(line) {
            if line.starts(with: Self.resultPrefix) {
                (self.id, errorCode) = (id, nil)
                return
            }
            if line.starts(with: Self.errorPrefix), let code = Self.integer(line[Self.errorPrefix.count...]) {
                (self.id, errorCode) = (id, code)
                return
            }
        }
        let reply = try JSONParser.parse(line)
        (id, errorCode) = (reply["id"]?.intValue, reply["error"]?["code"]?.intValue)
    }

    /// N of a line ending in `,"id":N}`: the top level's last member (a nested object would end in `}}`).
    private static func trailingID(_ line: [UInt8]) -> Int? {
        guard line.last == UInt8(ascii: "}") else { return nil }
        var start = line.count - 1
        while start > 0, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(line[start - 1]) { start -= 1 }
        guard start < line.count - 1, start >= idKey.count, line[(start - idKey.count)..<start].elementsEqual(idKey) else { return nil }
        return integer(line[start..<(line.count - 1)])
    }

    private static func integer(_ bytes: ArraySlice<UInt8>) -> Int? {
        let negative = bytes.first == UInt8(ascii: "-")
        var value = 0
        var digits = 0
        for byte in bytes.dropFirst(negative ? 1 : 0) {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { break }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
            if digits > 18 { return nil }
        }
        return digits == 0 ? nil : (negative ? -value : value)
    }
}

/// The run's figures, as a markdown table row and as JSON.
struct Report {
    let scenario: String
    let connections: Int
    let depth: Int
    let seconds: Double
    var latencies = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    var calls = 0
    var errors: [Int: Int] = [:]
    var serverCPUSeconds: Double?
    var serverPeakRSSKiB: Int?
    var postgresCPUSeconds: Double?
    var postgresPeakRSSKiB: Int?

    mutating func add(_ result: WorkerResult) {
        latencies.add(result.latencies)
        calls += result.calls
        for (code, count) in result.errors { errors[code, default: 0] += count }
    }

    var callsPerSecond: Double { Double(calls) / seconds }
    func percentile(_ p: Double) -> Double { Double(latencies.valueAtPercentile(p)) / 1000 }

    var markdown: String {
        func format(_ value: Double?, _ digits: Int = 2) -> String { value.map { String(format: "%.\(digits)f", $0) } ?? "–" }
        let errorText = errors.isEmpty ? "none" : errors.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        return """
            | scenario | connections | depth | calls/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors | server CPU s | server peak RSS MiB | PostgreSQL CPU s | PostgreSQL peak RSS MiB |
            |---|---|---|---|---|---|---|---|---|---|---|---|---|
            | \(scenario) | \(connections) | \(depth) | \(format(callsPerSecond, 0)) | \(format(percentile(50))) | \(format(percentile(90))) | \(format(percentile(99))) | \(format(percentile(99.9))) | \(errorText) | \(format(serverCPUSeconds)) | \(format(serverPeakRSSKiB.map { Double($0) / 1024 }, 0)) | \(format(postgresCPUSeconds)) | \(format(postgresPeakRSSKiB.map { Double($0) / 1024 }, 0)) |
            """
    }

    var json: JSONValue {
        func number(_ value: Double?) -> JSONValue { value.map { .number(String(format: "%.3f", $0)) } ?? .null }
        return [
            "scenario": .string(scenario), "connections": .number(String(connections)), "depth": .number(String(depth)),
            "seconds": number(seconds), "calls": .number(String(calls)), "calls_per_second": number(callsPerSecond),
            "latency_ms": ["p50": number(percentile(50)), "p90": number(percentile(90)), "p99": number(percentile(99)),
                           "p99_9": number(percentile(99.9)), "max": number(Double(latencies.max) / 1000)],
            "errors": .object(JSONObject(errors.sorted { $0.key < $1.key }.map { (key: String($0.key), value: .number(String($0.value))) })),
            "server": ["cpu_seconds": number(serverCPUSeconds), "peak_rss_kib": serverPeakRSSKiB.map { .number(String($0)) } ?? .null],
            "postgres": ["cpu_seconds": number(postgresCPUSeconds), "peak_rss_kib": postgresPeakRSSKiB.map { .number(String($0)) } ?? .null],
        ]
    }
}

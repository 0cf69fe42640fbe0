import ArgumentParser
import EngagementClient
import Foundation
import Histogram
import JSONRPC

/// Drives a running server over the real protocol (TLS, one JSON message per line, `session.authenticate` with
/// the keys of every organisation in a connection file) and reports throughput, latency percentiles, errors by
/// code and the CPU time and peak memory of the server and PostgreSQL. See Benchmarks/README.md.
@main
struct LoadGenerator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engagement-loadgen", abstract: "Load generator for engagement-service, over the real protocol.")

    @Option(help: "connection file with host, port, ca_file and organisations[].api_key (engagementd dev writes one)")
    var connectionFile = ".dev/connection.json"
    @Option(help: "point-read, list-page, write, rollup or mix")
    var scenario: Scenario = .pointRead
    @Option(help: "client connections, spread over the organisations' keys")
    var connections = 32
    @Option(help: "requests in flight per connection (pipelining depth)")
    var depth = 1
    @Option(help: "paced calls per second per connection (one in flight, sent on a fixed schedule): a tenant at an ordinary rate rather than a closed loop as fast as replies come")
    var rate: Double?
    @Option(help: "seconds measured")
    var duration = 10
    @Option(help: "seconds run before measuring")
    var warmup = 2
    @Option(help: "pid of engagementd, for its CPU time and peak RSS")
    var serverPid: Int32?
    @Option(help: "pid of the postmaster, for the CPU time and peak RSS of PostgreSQL and its backends")
    var postgresPid: Int32?
    @Option(help: "use only this organisation of the connection file (0-based), e.g. one flooding while another is measured")
    var organisation: Int?
    @Option(help: "write the result as JSON to this file")
    var output: String?
    @Option(help: "instead of load: open this many authenticated connections, hold them, and report the server's memory per connection (needs --server-pid)")
    var idle: Int?

    func validate() throws {
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
    }

    func run() async throws {
        let file = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: connectionFile))))
        guard let port = file["port"]?.intValue, let caFile = file["ca_file"]?.stringValue,
            let allKeys = file["organisations"]?.arrayValue?.compactMap({ $0["api_key"]?.stringValue }), !allKeys.isEmpty
        else { throw ValidationError("\(connectionFile) lacks port, ca_file or organisations[].api_key") }
        if let organisation, !allKeys.indices.contains(organisation) {
            throw ValidationError("--organisation \(organisation): the file has \(allKeys.count) organisations")
        }
        let keys = organisation.map { [allKeys[$0]] } ?? allKeys
        let host = file["host"]?.stringValue ?? "127.0.0.1"
        let tls = ClientTLS(caFile: caFile)

        if let idle {
            guard let serverPid else { throw ValidationError("--idle needs --server-pid") }
            try await measureIdle(idle, serverPid: serverPid, host: host, port: port, tls: tls, keys: keys)
            return
        }
        var engagements: [String: [String]] = [:]
        for key in keys { engagements[key] = try await Self.engagementIDs(host: host, port: port, tls: tls, key: key) }
        var clients: [(RPCConnection, [String])] = []
        for index in 0..<connections {
            let key = keys[index % keys.count]
            clients.append((try await Self.authenticatedConnection(host: host, port: port, tls: tls, key: key), engagements[key] ?? []))
        }

        let start = ContinuousClock.now
        let measureFrom = start + .seconds(warmup)
        let end = measureFrom + .seconds(duration)
        var before: (server: ProcessUsage?, postgres: ProcessUsage?) = (nil, nil)
        let results = try await withThrowingTaskGroup(of: WorkerResult.self) { group in
            for (client, ids) in clients {
                group.addTask { [scenario, depth, rate] in
                    try await Worker(connection: client, engagements: ids, scenario: scenario, depth: rate == nil ? depth : 1, rate: rate)
                        .run(measureFrom: measureFrom, end: end)
                }
            }
            try await Task.sleep(until: measureFrom)
            before = (serverPid.map { ProcessUsage.of($0, withChildren: false) }, postgresPid.map { ProcessUsage.of($0, withChildren: true) })
            var all: [WorkerResult] = []
            for try await result in group { all.append(result) }
            return all
        }
        let after = (serverPid.map { ProcessUsage.of($0, withChildren: false) }, postgresPid.map { ProcessUsage.of($0, withChildren: true) })
        for (client, _) in clients { await client.close() }

        var report = Report(scenario: scenario.rawValue, connections: connections, depth: depth, seconds: Double(duration))
        for result in results { report.add(result) }
        if let first = before.server, let last = after.0 { report.serverCPUSeconds = last.cpuSeconds - first.cpuSeconds; report.serverPeakRSSKiB = last.peakRSSKiB }
        if let first = before.postgres, let last = after.1 { report.postgresCPUSeconds = last.cpuSeconds - first.cpuSeconds; report.postgresPeakRSSKiB = last.peakRSSKiB }
        print(report.markdown)
        if let output { try Data(JSONWriter.encode(report.json)).write(to: URL(fileURLWithPath: output)) }
    }

    /// Opens `count` authenticated connections (100 at a time), waits for the server to settle, and prints its
    /// resident memory before and after, per connection.
    func measureIdle(_ count: Int, serverPid: Int32, host: String, port: Int, tls: ClientTLS, keys: [String]) async throws {
        let before = ProcessUsage.currentRSS(serverPid)
        var open: [RPCConnection] = []
        for start in stride(from: 0, to: count, by: 100) {
            open += try await withThrowingTaskGroup(of: RPCConnection.self) { group in
                for index in start..<min(start + 100, count) {
                    group.addTask {
                        try await Self.authenticatedConnection(host: host, port: port, tls: tls, key: keys[index % keys.count])
                    }
                }
                var batch: [RPCConnection] = []
                for try await client in group { batch.append(client) }
                return batch
            }
        }
        try await Task.sleep(for: .seconds(3))
        let after = ProcessUsage.currentRSS(serverPid)
        let perConnection = Double(after - before) / Double(count)
        print("| idle authenticated TLS connections | server RSS before (MiB) | after (MiB) | per connection (KiB) |")
        print("|---|---|---|---|")
        print(String(format: "| %d | %.1f | %.1f | %.1f |", count, Double(before) / 1024, Double(after) / 1024, perConnection))
        if let output {
            try Data(JSONWriter.encode([
                "idle_connections": .number(String(count)), "rss_before_kib": .number(String(before)),
                "rss_after_kib": .number(String(after)), "kib_per_connection": .number(String(format: "%.2f", perConnection)),
            ])).write(to: URL(fileURLWithPath: output))
        }
        for client in open { await client.close() }
    }

    /// Up to 2,000 engagement ids of the key's organisation.
    static func engagementIDs(host: String, port: Int, tls: ClientTLS, key: String) async throws -> [String] {
        let client = try await authenticatedConnection(host: host, port: port, tls: tls, key: key)
        defer { Task { await client.close() } }
        var ids: [String] = []
        var cursor: JSONValue = .null
        repeat {
            var params: JSONObject = ["limit": 200]
            if cursor != .null { params["cursor"] = cursor }
            let page = try await client.call("engagement.list", .object(params))
            ids += page["result"]?["items"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            cursor = page["result"]?["next_cursor"] ?? .null
        } while cursor != .null && ids.count < 2000
        return ids
    }

    /// A connection authenticated with `key`.
    static func authenticatedConnection(host: String, port: Int, tls: ClientTLS, key: String) async throws -> RPCConnection {
        let client = try await RPCConnection.connect(host: host, port: port, tls: tls)
        guard try await client.call("session.authenticate", ["api_key": .string(key)])["result"] != nil else {
            await client.close()
            throw ValidationError("the server refused an API key of the connection file")
        }
        return client
    }
}

extension Scenario: ExpressibleByArgument {}

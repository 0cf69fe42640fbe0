import Foundation
import JSONRPC

/// Fetches the monitoring endpoint through `Tests/Support/http_probe.py`: plain GETs, and `/metrics` parsed by
/// prometheus_client's text parser (installed with pip when missing: the test never skips for want of it).
enum HTTPProbe {
    struct Page {
        let status: Int
        let contentType: String
        let body: String
    }

    struct Scrape {
        let status: Int
        let contentType: String
        let samples: [(name: String, labels: [String: String], value: Double)]
        let families: [String: (type: String, help: String)]

        /// The value of the sample with this name and exactly these labels.
        func value(_ name: String, _ labels: [String: String]) -> Double? {
            samples.first { $0.name == name && $0.labels == labels }?.value
        }
    }

    static func get(_ url: String, method: String = "get") async throws -> Page {
        let reply = try await run(method, url)
        return Page(
            status: reply["status"]?.intValue ?? 0, contentType: reply["content_type"]?.stringValue ?? "",
            body: reply["body"]?.stringValue ?? "")
    }

    static func metrics(_ url: String) async throws -> Scrape {
        try await ensureParser()
        let reply = try await run("metrics", url)
        let samples = (reply["samples"]?.arrayValue ?? []).map { sample in
            var labels: [String: String] = [:]
            for (key, value) in sample["labels"]?.objectValue?.members ?? [] { labels[key] = value.stringValue }
            return (name: sample["name"]?.stringValue ?? "", labels: labels, value: number(sample["value"]))
        }
        var families: [String: (type: String, help: String)] = [:]
        for (name, family) in reply["families"]?.objectValue?.members ?? [] {
            families[name] = (type: family["type"]?.stringValue ?? "", help: family["help"]?.stringValue ?? "")
        }
        return Scrape(
            status: reply["status"]?.intValue ?? 0, contentType: reply["content_type"]?.stringValue ?? "", samples: samples,
            families: families)
    }

    private static func number(_ value: JSONValue?) -> Double {
        if case .number(let lexeme) = value { return Double(lexeme) ?? .nan }
        return .nan
    }

    private static func run(_ arguments: String...) async throws -> JSONValue {
        try await PythonTool.json("http_probe.py", arguments)
    }

    private static func ensureParser() async throws {
        try await PythonTool.ensure(module: "prometheus_client", package: "prometheus_client==0.26.0")
    }
}

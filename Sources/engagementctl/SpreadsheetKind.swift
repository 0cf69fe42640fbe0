import ArgumentParser
import EngagementClient
import JSONRPC

/// The kinds `import` and `export` know, and the methods behind each: `*.import` writes (its declared row values,
/// read from `rpc.discover`, are the columns, so they follow the server); an exporter reads back, in the same
/// columns (SpreadsheetExports.swift).
struct SpreadsheetKind: Sendable {
    typealias Exporter = @Sendable (_ server: RPCConnection, _ header: [String]) async throws -> [[String]]

    let name: String
    let bulk: String
    /// Rows that make one write together (a check-in's lines: same engagement and month) go in the same call.
    var groupedBy: [String] = []
    let exporter: Exporter

    static let all: [SpreadsheetKind] = [
        SpreadsheetKind(name: "parties", bulk: "party.import") { server, header in
            try await SpreadsheetExports.list(server, "party.list", header) { $0["kind"] != "self" }
        },
        SpreadsheetKind(name: "services", bulk: "service.import") { server, header in
            try await SpreadsheetExports.list(server, "service.list", header) { _ in true }
        },
        SpreadsheetKind(name: "templates", bulk: "template.import", exporter: SpreadsheetExports.templates),
        SpreadsheetKind(name: "contracts", bulk: "contract.import", exporter: SpreadsheetExports.contracts),
        SpreadsheetKind(name: "contract-rates", bulk: "contract.import_rates", exporter: SpreadsheetExports.contractRates),
        SpreadsheetKind(name: "sla-terms", bulk: "contract.import_sla_terms", exporter: SpreadsheetExports.slaTerms),
        SpreadsheetKind(name: "engagements", bulk: "engagement.import", exporter: SpreadsheetExports.engagements),
        SpreadsheetKind(name: "kpis", bulk: "kpi.import", exporter: SpreadsheetExports.kpis),
        SpreadsheetKind(name: "checkins", bulk: "checkin.import", groupedBy: ["engagement_code", "period"],
                        exporter: SpreadsheetExports.checkIns),
    ]

    static func named(_ name: String) throws -> SpreadsheetKind {
        guard let kind = all.first(where: { $0.name == name }) else {
            throw ValidationError("unknown kind \(name); known: \(all.map(\.name).joined(separator: ", "))")
        }
        return kind
    }

    /// What the server's import method takes: the columns with their JSON Schema (the row values) and the most
    /// rows in one call, from `rpc.discover`.
    func format(_ connection: RPCConnection) async throws -> (columns: [(name: String, schema: JSONValue)], rowsPerCall: Int) {
        let document = try await connection.call("rpc.discover")
        guard let method = document["result"]?["methods"]?.arrayValue?.first(where: { $0["name"]?.stringValue == bulk }),
            let rows = method["params"]?.arrayValue?.first(where: { $0["name"] == "rows" })?["schema"],
            let values = rows["items"]?["properties"]?["values"]?["properties"]?.objectValue
        else { throw ValidationError("the server has no \(bulk)") }
        return (values.members.map { ($0.key, $0.value) }, rows["maxItems"]?.intValue ?? 1)
    }
}

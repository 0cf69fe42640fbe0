import ArgumentParser
import EngagementClient
import Foundation
import JSONRPC
import Spreadsheet

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export one kind as CSV in the format `import` reads (export from one organisation, import into another).")

    @Argument(help: "What to export.") var kind: String
    @Option(help: "Write to this file instead of standard output.") var output: String?
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let kind = try SpreadsheetKind.named(kind)
        let server = try await connection.connect()
        let header = try await kind.format(server).columns.map(\.name)
        let text = CSVTable(header: header, rows: try await kind.exporter(server, header)).rendered()
        if let output {
            try Data(text.utf8).write(to: URL(fileURLWithPath: output))
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}

/// Each kind's rows, read through the list methods, naming what they refer to by code or reference as `import`
/// wants them.
enum SpreadsheetExports {
    /// A list method's items whose members are named like the columns; rows `exportable` refuses are left out.
    static func list(
        _ server: RPCConnection, _ method: String, _ header: [String], exportable: (JSONValue) -> Bool
    ) async throws -> [[String]] {
        try await all(server, method).filter(exportable).map { item in header.map { cell(item[$0]) } }
    }

    static func contracts(_ server: RPCConnection, _ header: [String]) async throws -> [[String]] {
        let parties = try await references(server)
        return try await all(server, "contract.list").map { contract in
            header.map { $0 == "customer_ref" ? parties[contract["customer"]?["id"]?.stringValue ?? ""] ?? "" : cell(contract[$0]) }
        }
    }

    static func contractRates(_ server: RPCConnection, _ header: [String]) async throws -> [[String]] {
        try await contractTerms(server, header, "rates")
    }

    static func slaTerms(_ server: RPCConnection, _ header: [String]) async throws -> [[String]] {
        try await contractTerms(server, header, "sla_terms")
    }

    /// One row per rate or SLA term of every contract.
    static func contractTerms(_ server: RPCConnection, _ header: [String], _ member: String) async throws -> [[String]] {
        try await all(server, "contract.list").flatMap { contract in
            (contract[member]?.arrayValue ?? []).map { term in
                header.map { $0 == "contract_reference" ? cell(contract["reference"]) : cell(term[$0]) }
            }
        }
    }

    static func templates(_ server: RPCConnection, _ header: [String]) async throws -> [[String]] {
        let services = index(try await all(server, "service.list"), "code")
        return try await all(server, "template.list").map { template in
            header.map { $0 == "service_code" ? services[template["service_id"]?.stringValue ?? ""] ?? "" : cell(template[$0]) }
        }
    }

    /// Engagements with what they name by code or reference, parents before children.
    static func engagements(_ server: RPCConnection, _ header: [String]) async throws -> [[String]] {
        let parties = try await references(server)
        let contracts = index(try await all(server, "contract.list"), "reference")
        let templates = index(try await all(server, "template.list", ["include_archived": true]), "name")
        let engagements = try await all(server, "engagement.list", ["include_archived": true])
        let codes = index(engagements, "code")
        var emitted = Set<String>()
        var ordered: [JSONValue] = []
        var remaining = engagements
        while !remaining.isEmpty {
            let ready = remaining.filter { item in item["parent_id"]?.stringValue.map { emitted.contains($0) || codes[$0] == nil } ?? true }
            let next = ready.isEmpty ? remaining : ready  // a parent outside the list: emit the rest as they are
            for item in next { emitted.insert(item["id"]?.stringValue ?? "") }
            ordered += next
            let done = Set(next.compactMap { $0["id"]?.stringValue })
            remaining.removeAll { done.contains($0["id"]?.stringValue ?? "") }
        }
        return ordered.map { item in
            header.map { column in
                switch column {
                case "service_code": cell(item["service"]?["code"])
                case "customer_ref": parties[item["customer"]?["id"]?.stringValue ?? ""] ?? ""
                case "contract_reference": contracts[item["contract_id"]?.stringValue ?? ""] ?? ""
                case "parent_code": codes[item["parent_id"]?.stringValue ?? ""] ?? ""
                case "template": templates[item["template_id"]?.stringValue ?? ""] ?? ""
                default: cell(item[column])
                }
            }
        }
    }

    /// Every engagement's KPIs.
    static func kpis(_ server: RPCConnection, _ header: [String]) async throws -> [[String]] {
        let parties = try await references(server)
        var rows: [[String]] = []
        for engagement in try await all(server, "engagement.list", ["include_archived": true]) {
            let reply = try await server.call("kpi.list", .object(["engagement_id": engagement["id"] ?? .null]))
            for kpi in try result(reply).arrayValue ?? [] {
                rows.append(header.map { column in
                    switch column {
                    case "engagement_code": cell(engagement["code"])
                    case "deliverer_ref": parties[kpi["deliverer_party_id"]?.stringValue ?? ""] ?? ""
                    default: cell(kpi[column])
                    }
                })
            }
        }
        return rows
    }

    /// Every check-in as its lines: a row per finance line, KPI value and capacity entry, the notes on the first
    /// (or on a notes row when it has no lines).
    static func checkIns(_ server: RPCConnection, _ header: [String]) async throws -> [[String]] {
        let parties = try await references(server)
        let codes = index(try await all(server, "engagement.list", ["include_archived": true]), "code")
        var rows: [[String]] = []
        for checkIn in try await all(server, "checkin.list") {
            var lines: [(section: String, line: JSONValue)] = []
            for (section, member) in [("finance", "finance"), ("kpi", "kpis"), ("capacity", "capacity")] {
                lines += (checkIn[member]?.arrayValue ?? []).map { (section, $0) }
            }
            if lines.isEmpty { lines = [("notes", .object([:]))] }
            for (number, entry) in lines.enumerated() {
                rows.append(header.map { column in
                    switch column {
                    case "engagement_code": codes[checkIn["engagement_id"]?.stringValue ?? ""] ?? ""
                    case "period": cell(checkIn["period"])
                    case "section": entry.section
                    case "notes": number == 0 ? cell(checkIn["notes"]) : ""
                    case "deliverer_ref": parties[entry.line["deliverer_party_id"]?.stringValue ?? ""] ?? ""
                    default: cell(entry.line[column])
                    }
                })
            }
        }
        return rows
    }

    /// Every item of a keyset-paged list.
    static func all(_ server: RPCConnection, _ method: String, _ extra: JSONObject = [:]) async throws -> [JSONValue] {
        var items: [JSONValue] = []
        var cursor: String?
        repeat {
            var params: JSONObject = extra
            params["limit"] = 200
            if let cursor { params["cursor"] = .string(cursor) }
            let page = try result(try await server.call(method, .object(params)))
            items += page["items"]?.arrayValue ?? []
            cursor = page["next_cursor"]?.stringValue
        } while cursor != nil
        return items
    }

    /// The reply's result; an error reply is printed and ends the command.
    static func result(_ reply: JSONValue) throws -> JSONValue {
        guard let result = reply["result"] else {
            print(JSONWriter.string(reply))
            throw ExitCode(1)
        }
        return result
    }

    /// Parties' external references by id.
    static func references(_ server: RPCConnection) async throws -> [String: String] {
        index(try await all(server, "party.list", ["include_archived": true]), "external_ref")
    }

    /// One member of each item, by the item's id.
    static func index(_ items: [JSONValue], _ member: String) -> [String: String] {
        Dictionary(items.compactMap { item in item["id"]?.stringValue.map { ($0, cell(item[member])) } }, uniquingKeysWith: { a, _ in a })
    }

    static func cell(_ value: JSONValue?) -> String {
        switch value {
        case .string(let text)?: text
        case .number(let lexeme)?: lexeme
        case .bool(let flag)?: flag ? "true" : "false"
        case .array?, .object?: JSONWriter.string(value!)
        default: ""
        }
    }
}

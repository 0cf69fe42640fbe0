import ArgumentParser
import EngagementClient
import Foundation
import JSONRPC
import Spreadsheet

/// The kinds `import` and `export` know, and the methods behind each: `*.import` writes (its declared row values,
/// read from `rpc.discover`, are the columns, so they follow the server); `*.list` reads back for an export.
struct SpreadsheetKind: Sendable {
    /// How an export gets its rows.
    enum Exporter: Sendable {
        /// The list method's items, their members named like the columns; rows `exportable` refuses are left out.
        case list(String, exportable: @Sendable (JSONValue) -> Bool)
        /// Engagements name service, customer, contract and parent by code or reference: the lists are joined here,
        /// and parents come before their children.
        case engagements
        /// Each engagement's KPIs, naming the engagement by code and the delivery party by external_ref.
        case kpis
        case none
    }

    let name: String
    let bulk: String
    let exporter: Exporter

    static let all: [SpreadsheetKind] = [
        SpreadsheetKind(name: "parties", bulk: "party.import", exporter: .list("party.list") { $0["kind"] != "self" }),
        SpreadsheetKind(name: "services", bulk: "service.import", exporter: .list("service.list") { _ in true }),
        SpreadsheetKind(name: "engagements", bulk: "engagement.import", exporter: .engagements),
        SpreadsheetKind(name: "kpis", bulk: "kpi.import", exporter: .kpis),
    ]

    static func named(_ name: String) throws -> SpreadsheetKind {
        guard let kind = all.first(where: { $0.name == name }) else {
            throw ValidationError("unknown kind \(name); known: \(all.map(\.name).joined(separator: ", "))")
        }
        return kind
    }

    /// The columns with their JSON Schema: the import method's row values, from the server.
    func columns(_ connection: RPCConnection) async throws -> [(name: String, schema: JSONValue)] {
        let document = try await connection.call("rpc.discover")
        guard let method = document["result"]?["methods"]?.arrayValue?.first(where: { $0["name"]?.stringValue == bulk }),
            let rows = method["params"]?.arrayValue?.first(where: { $0["name"] == "rows" }),
            let values = rows["schema"]?["items"]?["properties"]?["values"]?["properties"]?.objectValue
        else { throw ValidationError("the server has no \(bulk)") }
        return values.members.map { ($0.key, $0.value) }
    }
}

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import a CSV file of one kind through the server (its rules, audit and isolation), with a report per row.",
        discussion: """
            KIND: \(SpreadsheetKind.all.map(\.name).joined(separator: ", ")). Columns are matched by header name (the
            create method's params, e.g. party.create: name, kind, external_ref); an unknown column is an error.
            UTF-8 with or without BOM, CRLF or LF, quoted fields with commas, quotes and line breaks. An empty cell
            leaves the value out. Rows whose natural key (external_ref) exists are skipped: imports can be re-run.
            Exit status: 0 when no row failed, 1 otherwise.
            """)

    @Argument(help: "What the rows are.") var kind: String
    @Argument(help: "The CSV file.") var file: String
    @Flag(help: "Check every row, write none.") var dryRun = false
    @Flag(help: "Write every row or, when any fails, none (the file must fit one call: at most 1,000 rows).") var atomic = false
    @Option(help: "Rows per call.") var batch = 500
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let kind = try SpreadsheetKind.named(kind)
        let table: CSVTable
        do {
            table = try CSVTable.parse(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
        } catch let failure as CSVTable.Failure {
            throw ValidationError("\(file): \(failure)")
        }
        guard (1...1000).contains(batch) else { throw ValidationError("--batch is 1 to 1000") }
        if atomic && table.rows.count > 1000 { throw ValidationError("--atomic needs the whole file in one call: at most 1,000 rows") }
        let server = try await connection.connect()
        let columns = try await kind.columns(server)
        let known = Set(columns.map(\.name))
        let unknown = table.header.filter { !known.contains($0) }
        guard unknown.isEmpty else {
            throw ValidationError("unknown column(s) \(unknown.joined(separator: ", ")); \(kind.name) has \(columns.map(\.name).joined(separator: ", "))")
        }
        let schemas = Dictionary(uniqueKeysWithValues: columns.map { ($0.name, $0.schema) })

        var reports: [JSONValue] = []
        var totals = (written: 0, skipped: 0, failed: 0)
        let progress = ImportProgress(total: table.rows.count)
        let size = atomic ? max(table.rows.count, 1) : batch
        for start in stride(from: 0, to: table.rows.count, by: size) {
            let range = start..<min(start + size, table.rows.count)
            var rows: [JSONValue] = []
            for index in range {
                var values = JSONObject()
                var problem: (column: String, message: String)?
                for (column, cell) in zip(table.header, table.rows[index]) where !cell.isEmpty {
                    guard let value = Self.value(cell, schema: schemas[column] ?? .null) else {
                        problem = problem ?? (column, "\"\(cell)\" is not a \(Self.type(schemas[column] ?? .null) ?? "value")")
                        continue
                    }
                    values[column] = value
                }
                if let problem {
                    // Refused here, like the server would: the rest of the batch goes on.
                    reports.append(.object([
                        "row": .number(String(table.lines[index])), "status": "failed", "field": .string(problem.column),
                        "reason": "invalid", "message": .string(problem.message),
                    ]))
                    totals.failed += 1
                    continue
                }
                rows.append(.object(["row": .number(String(table.lines[index])), "values": .object(values)]))
            }
            // Atomic with a row refused here: the server checks the others and writes none.
            let undo = atomic && totals.failed > 0
            let reply = try await server.call(
                kind.bulk, .object(["rows": .array(rows), "dry_run": .bool(dryRun || undo), "atomic": .bool(atomic)]))
            guard let result = reply["result"] else {
                print(JSONWriter.string(reply))
                throw ExitCode(1)
            }
            reports += (result["rows"]?.arrayValue ?? []).map { row in
                guard undo, !dryRun, row["status"] == "valid", var object = row.objectValue else { return row }
                object["status"] = "not_written"
                return .object(object)
            }
            totals.written += result["written"]?.intValue ?? 0
            totals.skipped += result["skipped"]?.intValue ?? 0
            totals.failed += result["failed"]?.intValue ?? 0
            progress.advance(to: range.upperBound)
        }
        progress.finish()
        for report in reports where report["status"] == "failed" {
            let field = report["field"]?.stringValue.map { " column \($0):" } ?? ""
            print("line \(report["row"]?.intValue ?? 0):\(field) \(report["message"]?.stringValue ?? report["reason"]?.stringValue ?? "failed")")
        }
        let verb = dryRun ? "would write" : "written"
        print("\(table.rows.count) rows: \(dryRun ? reports.filter { $0["status"] == "valid" }.count : totals.written) \(verb), \(totals.skipped) skipped (already there), \(totals.failed) failed")
        if totals.failed > 0 { throw ExitCode(1) }
    }

    /// A cell as the JSON its column's schema wants (numbers keep their text: amounts stay exact), or nil when it
    /// is not one.
    static func value(_ cell: String, schema: JSONValue) -> JSONValue? {
        switch type(schema) {
        case "integer": return Int(cell) == nil ? nil : .number(cell)
        case "number": return Double(cell) == nil || cell.contains(where: { $0.isLetter }) ? nil : .number(cell)
        case "boolean":
            switch cell.lowercased() {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: return nil
            }
        default: return .string(cell)
        }
    }

    static func type(_ schema: JSONValue) -> String? {
        schema["type"]?.stringValue ?? schema["anyOf"]?[0]?["type"]?.stringValue
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export one kind as CSV in the format `import` reads (export from one organisation, import into another).")

    @Argument(help: "What to export.") var kind: String
    @Option(help: "Write to this file instead of standard output.") var output: String?
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let kind = try SpreadsheetKind.named(kind)
        let server = try await connection.connect()
        let header = try await kind.columns(server).map(\.name)
        let rows: [[String]]
        switch kind.exporter {
        case .none:
            throw ValidationError("\(kind.name) cannot be exported yet (only imported)")
        case .list(let method, let exportable):
            rows = try await Self.all(server, method).filter(exportable).map { item in header.map { Self.cell(item[$0]) } }
        case .engagements:
            rows = try await Self.engagementRows(server, header: header)
        case .kpis:
            rows = try await Self.kpiRows(server, header: header)
        }
        let text = CSVTable(header: header, rows: rows).rendered()
        if let output {
            try Data(text.utf8).write(to: URL(fileURLWithPath: output))
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }

    /// Every item of a keyset-paged list.
    static func all(_ server: RPCConnection, _ method: String, _ extra: JSONObject = [:]) async throws -> [JSONValue] {
        var items: [JSONValue] = []
        var cursor: String?
        repeat {
            var params: JSONObject = extra
            params["limit"] = 200
            if let cursor { params["cursor"] = .string(cursor) }
            let reply = try await server.call(method, .object(params))
            guard let result = reply["result"] else {
                print(JSONWriter.string(reply))
                throw ExitCode(1)
            }
            items += result["items"]?.arrayValue ?? []
            cursor = result["next_cursor"]?.stringValue
        } while cursor != nil
        return items
    }

    /// Engagements with what they name by code or reference, parents before children.
    static func engagementRows(_ server: RPCConnection, header: [String]) async throws -> [[String]] {
        func index(_ items: [JSONValue], _ member: String) -> [String: String] {
            Dictionary(items.compactMap { item in item["id"]?.stringValue.map { ($0, cell(item[member])) } }, uniquingKeysWith: { a, _ in a })
        }
        let parties = index(try await all(server, "party.list", ["include_archived": true]), "external_ref")
        let contracts = index(try await all(server, "contract.list"), "reference")
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
                default: cell(item[column])
                }
            }
        }
    }

    /// Every engagement's KPIs.
    static func kpiRows(_ server: RPCConnection, header: [String]) async throws -> [[String]] {
        let parties = try await all(server, "party.list", ["include_archived": true])
        let references = Dictionary(parties.compactMap { p in p["id"]?.stringValue.map { ($0, cell(p["external_ref"])) } }, uniquingKeysWith: { a, _ in a })
        var rows: [[String]] = []
        for engagement in try await all(server, "engagement.list", ["include_archived": true]) {
            let reply = try await server.call("kpi.list", .object(["engagement_id": engagement["id"] ?? .null]))
            guard let kpis = reply["result"]?.arrayValue else {
                print(JSONWriter.string(reply))
                throw ExitCode(1)
            }
            for kpi in kpis {
                rows.append(header.map { column in
                    switch column {
                    case "engagement_code": cell(engagement["code"])
                    case "deliverer_ref": references[kpi["deliverer_party_id"]?.stringValue ?? ""] ?? ""
                    default: cell(kpi[column])
                    }
                })
            }
        }
        return rows
    }

    static func cell(_ value: JSONValue?) -> String {
        switch value {
        case .string(let text)?: text
        case .number(let lexeme)?: lexeme
        case .bool(let flag)?: flag ? "true" : "false"
        default: ""
        }
    }
}

/// A progress bar on standard error when it is a terminal: rows done, rows a second, time left.
final class ImportProgress {
    let total: Int
    let started = ContinuousClock.now
    let enabled = isatty(STDERR_FILENO) == 1

    init(total: Int) { self.total = total }

    func advance(to done: Int) {
        guard enabled, total > 0 else { return }
        let seconds = max((ContinuousClock.now - started).seconds, 0.001)
        let rate = Double(done) / seconds
        let left = rate > 0 ? Double(total - done) / rate : 0
        let width = 30, filled = width * done / total
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total) rows, \(Int(rate)) rows/s, ETA \(Int(left.rounded())) s ".utf8))
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

import ArgumentParser
import EngagementClient
import Foundation
import JSONRPC
import Spreadsheet

/// The kinds `import` and `export` know, and the methods behind each: the create method's params (from
/// `rpc.discover`, so the columns follow the server) are a row's columns; `*.import` writes; `*.list` reads back.
struct SpreadsheetKind: Sendable {
    let name: String
    let create: String
    let bulk: String
    let list: String
    /// Listed rows that cannot be imported are left out of an export (the organisation's own party).
    let exportable: @Sendable (JSONValue) -> Bool

    static let all: [SpreadsheetKind] = [
        SpreadsheetKind(name: "parties", create: "party.create", bulk: "party.import", list: "party.list") { $0["kind"] != "self" },
    ]

    static func named(_ name: String) throws -> SpreadsheetKind {
        guard let kind = all.first(where: { $0.name == name }) else {
            throw ValidationError("unknown kind \(name); known: \(all.map(\.name).joined(separator: ", "))")
        }
        return kind
    }

    /// The columns (create params less the idempotency key) with their JSON Schema, from the server.
    func columns(_ connection: RPCConnection) async throws -> [(name: String, schema: JSONValue, required: Bool)] {
        let document = try await connection.call("rpc.discover")
        guard let method = document["result"]?["methods"]?.arrayValue?.first(where: { $0["name"]?.stringValue == create }) else {
            throw ValidationError("the server has no \(create)")
        }
        return (method["params"]?.arrayValue ?? []).compactMap { param in
            guard let name = param["name"]?.stringValue, name != "idempotency_key" else { return nil }
            return (name, param["schema"] ?? .null, param["required"]?.boolValue ?? false)
        }
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
        let missing = columns.filter { $0.required && !table.header.contains($0.name) }.map(\.name)
        guard missing.isEmpty else { throw ValidationError("missing column(s) \(missing.joined(separator: ", "))") }
        let schemas = Dictionary(uniqueKeysWithValues: columns.map { ($0.name, $0.schema) })

        var reports: [JSONValue] = []
        var totals = (written: 0, skipped: 0, failed: 0)
        let progress = ImportProgress(total: table.rows.count)
        let size = atomic ? max(table.rows.count, 1) : batch
        for start in stride(from: 0, to: table.rows.count, by: size) {
            let range = start..<min(start + size, table.rows.count)
            let rows: [JSONValue] = range.map { index in
                var values = JSONObject()
                for (column, cell) in zip(table.header, table.rows[index]) where !cell.isEmpty {
                    values[column] = Self.value(cell, schema: schemas[column] ?? .null)
                }
                return .object(["row": .number(String(table.lines[index])), "values": .object(values)])
            }
            let reply = try await server.call(
                kind.bulk, .object(["rows": .array(rows), "dry_run": .bool(dryRun), "atomic": .bool(atomic)]))
            guard let result = reply["result"] else {
                print(JSONWriter.string(reply))
                throw ExitCode(1)
            }
            reports += result["rows"]?.arrayValue ?? []
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

    /// A cell as the JSON its column's schema wants: numbers and booleans unquoted (numbers keep their text).
    static func value(_ cell: String, schema: JSONValue) -> JSONValue {
        let type = schema["type"]?.stringValue ?? schema["anyOf"]?[0]?["type"]?.stringValue
        switch type {
        case "integer", "number": return .number(cell)
        case "boolean": return cell.lowercased() == "true" ? .bool(true) : cell.lowercased() == "false" ? .bool(false) : .string(cell)
        default: return .string(cell)
        }
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
        var rows: [[String]] = []
        var cursor: String?
        repeat {
            var params: JSONObject = ["limit": 200, "sort": "created_at"]
            if let cursor { params["cursor"] = .string(cursor) }
            let reply = try await server.call(kind.list, .object(params))
            guard let result = reply["result"] else {
                print(JSONWriter.string(reply))
                throw ExitCode(1)
            }
            for item in result["items"]?.arrayValue ?? [] where kind.exportable(item) {
                rows.append(header.map { Self.cell(item[$0]) })
            }
            cursor = result["next_cursor"]?.stringValue
        } while cursor != nil
        let text = CSVTable(header: header, rows: rows).rendered()
        if let output {
            try Data(text.utf8).write(to: URL(fileURLWithPath: output))
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
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

import ArgumentParser
import EngagementClient
import Foundation
import JSONRPC
import Spreadsheet

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import a CSV file of one kind through the server (its rules, audit and isolation), with a report per row.",
        discussion: """
            KIND: \(SpreadsheetKind.all.map(\.name).joined(separator: ", ")). Columns are matched by header name (the
            create method's params, e.g. party.create: name, kind, external_ref); an unknown column is an error.
            UTF-8 with or without BOM, CRLF or LF, quoted fields with commas, quotes and line breaks. An empty cell
            leaves the value out. Rows whose natural key (external_ref, code, …) exists are skipped: imports can be
            re-run. --atomic writes the whole file in one transaction (staged on the server beyond one call).
            docs/spreadsheets.md has every kind's columns. Exit status: 0 when no row failed, 1 otherwise.
            """)

    @Argument(help: "What the rows are.") var kind: String
    @Argument(help: "The CSV file.") var file: String
    @Flag(help: "Check every row, write none.") var dryRun = false
    @Flag(help: "Write every row or, when any fails, none: one transaction for the whole file (staged on the server when it needs more than one call).") var atomic = false
    @Option(help: "Rows per call.") var batch = 500
    @Option(help: "Calls in flight at once.") var parallel = 2
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let kind = try SpreadsheetKind.named(kind)
        let table: CSVTable
        do {
            table = try CSVTable.parse(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
        } catch let failure as CSVTable.Failure {
            throw ValidationError("\(file): \(failure)")
        }
        let server = try await connection.connect()
        let (columns, rowsPerCall) = try await kind.format(server)
        guard parallel >= 1 else { throw ValidationError("--parallel is at least 1") }
        guard (1...rowsPerCall).contains(batch) else { throw ValidationError("--batch is 1 to \(rowsPerCall)") }
        let known = Set(columns.map(\.name))
        let unknown = table.header.filter { !known.contains($0) }
        guard unknown.isEmpty else {
            throw ValidationError("unknown column(s) \(unknown.joined(separator: ", ")); \(kind.name) has \(columns.map(\.name).joined(separator: ", "))")
        }
        let schemas = Dictionary(uniqueKeysWithValues: columns.map { ($0.name, $0.schema) })

        // Every row goes to the server, one whose cell is not of its column's type marked refused (the server
        // reports it in its place and, for a check-in line, fails its check-in).
        let rows: [JSONValue] = table.rows.indices.map { index in
            var values = JSONObject()
            var entry: JSONObject = ["row": .number(String(table.lines[index]))]
            for (column, cell) in zip(table.header, table.rows[index]) where !cell.isEmpty {
                guard let value = Self.value(cell, schema: schemas[column] ?? .null) else {
                    if entry["refused"] == nil {
                        entry["refused"] = .object([
                            "field": .string(column),
                            "message": .string("\"\(cell)\" is not a valid \(Self.type(schemas[column] ?? .null) ?? "value")"),
                        ])
                    }
                    continue
                }
                values[column] = value
            }
            entry["values"] = .object(values)
            return .object(entry)
        }
        var reports: [JSONValue] = []
        var totals = (written: 0, skipped: 0, failed: 0)
        let progress = ImportProgress(total: rows.count)
        var done = 0
        func count(_ result: JSONValue) {
            reports += result["rows"]?.arrayValue ?? []
            totals.written += result["written"]?.intValue ?? 0
            totals.skipped += result["skipped"]?.intValue ?? 0
            totals.failed += result["failed"]?.intValue ?? 0
        }
        let method = kind.bulk, dryRun = dryRun, atomic = atomic
        if atomic && rows.count > rowsPerCall {
            // More than one call holds: the rows are staged on the server in batches, then the last call commits
            // them all in one transaction (its answer lists the failed rows only).
            let importID = JSONValue.string(UUID().uuidString.lowercased())
            let chunks = stride(from: 0, to: rows.count, by: rowsPerCall).map { Array(rows[$0..<min($0 + rowsPerCall, rows.count)]) }
            for (index, chunk) in chunks.enumerated() {
                let commit = index == chunks.count - 1
                if commit { progress.committing() }
                let result = try SpreadsheetExports.result(try await Self.send(server, method, .object([
                    "rows": .array(chunk), "dry_run": .bool(dryRun), "atomic": true, "import_id": importID, "commit": .bool(commit),
                ]), timeout: commit ? .seconds(3600) : .seconds(300)))
                if commit { count(result) }
                done += chunk.count
                progress.advance(to: done)
            }
        } else {
            // Up to --parallel calls in flight on the connection (each batch is independent of the others: a
            // check-in's rows are never split), so PostgreSQL works on several at once.
            let batches = try Self.batches(rows, size: atomic ? max(rows.count, 1) : batch, limit: rowsPerCall, groupedBy: kind.groupedBy)
            try await withThrowingTaskGroup(of: (rows: Int, reply: JSONValue).self) { group in
                var pending = batches[...]
                func send() {
                    guard let rows = pending.popFirst() else { return }
                    group.addTask {
                        let params: JSONValue = .object(["rows": .array(rows), "dry_run": .bool(dryRun), "atomic": .bool(atomic)])
                        return (rows.count, try await Self.send(server, method, params, timeout: .seconds(300)))
                    }
                }
                for _ in 0..<parallel { send() }
                while let (rows, reply) = try await group.next() {
                    count(try SpreadsheetExports.result(reply))
                    done += rows
                    progress.advance(to: done)
                    send()
                }
            }
        }
        progress.finish()
        for report in reports.sorted(by: { ($0["row"]?.intValue ?? 0) < ($1["row"]?.intValue ?? 0) }) where report["status"] == "failed" {
            let field = report["field"]?.stringValue.map { " column \($0):" } ?? ""
            print("line \(report["row"]?.intValue ?? 0):\(field) \(report["message"]?.stringValue ?? report["reason"]?.stringValue ?? "failed")")
        }
        let verb = dryRun ? "would write" : "written"
        print("\(table.rows.count) rows: \(dryRun ? table.rows.count - totals.skipped - totals.failed : totals.written) \(verb), \(totals.skipped) skipped (already there), \(totals.failed) failed")
        if totals.failed > 0 { throw ExitCode(1) }
    }

    /// One call; a call refused for now (a concurrent batch interfered, the pool is busy, the database is back
    /// soon) wrote nothing, so it is sent again after the wait the server asks for, a few times.
    static func send(_ server: RPCConnection, _ method: String, _ params: JSONValue, timeout: Duration) async throws -> JSONValue {
        for attempt in 1... {
            let reply = try await server.call(method, params, timeout: timeout)
            guard let wait = reply["error"]?["data"]?["retry_after_ms"]?.intValue, attempt < 6 else { return reply }
            try await Task.sleep(for: .milliseconds(wait * attempt))
        }
        preconditionFailure("unreachable")
    }

    /// The calls' rows: at most `size` each, the rows of one group (same values in `groupedBy`, e.g. a check-in's
    /// lines) together in one call even when the file scatters them, groups in the order they first appear.
    static func batches(_ rows: [JSONValue], size: Int, limit: Int, groupedBy: [String]) throws -> [[JSONValue]] {
        guard !groupedBy.isEmpty else {
            return stride(from: 0, to: rows.count, by: size).map { Array(rows[$0..<min($0 + size, rows.count)]) }
        }
        var order: [[String]] = []
        var groups: [[String]: [JSONValue]] = [:]
        for row in rows {
            let key = groupedBy.map { SpreadsheetExports.cell(row["values"]?[$0]).lowercased() }
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(row)
        }
        var batches: [[JSONValue]] = [[]]
        for key in order {
            let group = groups[key] ?? []
            guard group.count <= limit else {
                throw ValidationError("\(key.joined(separator: " ")) has \(group.count) rows: one group is at most \(limit)")
            }
            if let last = batches.last, !last.isEmpty, last.count + group.count > max(size, group.count) { batches.append([]) }
            batches[batches.count - 1] += group
        }
        return batches.filter { !$0.isEmpty }
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
        case "array", "object": return try? JSONParser.parse(cell)
        default: return .string(cell)
        }
    }

    static func type(_ schema: JSONValue) -> String? {
        schema["type"]?.stringValue ?? schema["anyOf"]?[0]?["type"]?.stringValue
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

    /// The last call writes everything staged: the bar cannot move during it.
    func committing() {
        if enabled { FileHandle.standardError.write(Data("\rcommitting \(total) rows in one transaction…".utf8)) }
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

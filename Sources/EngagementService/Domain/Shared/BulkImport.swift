import JSONRPC

/// The `*.import` methods: many rows of one kind in one call, through the kind's create function (its rules, audit
/// and errors), with a report per row (`app.import_rows`, SQL/definitions/0500_imports.sql). Each row is first
/// checked against the create method's declared params here, like a single call's params; a row that fails is
/// reported with its field (the spreadsheet column) and the others go on. `engagementctl import` sends a file's
/// rows in batches of these calls.
enum BulkImport {
    /// The most rows in one call (a 1 MiB request line holds a few thousand narrow rows; this keeps a call short).
    static let maximumRows = 1000

    static let rowReport = Schema.object([
        .init("row", .integer(minimum: 0), "the row's number as the client gave it (engagementctl: the file's line)"),
        .init("status", .enumeration(["written", "skipped", "failed", "valid", "not_written"]),
              "written; skipped (a duplicate by its natural key, e.g. external_ref); failed; valid (dry run: would be written); not_written (atomic: another row failed)"),
        .init("id", .uuid, required: false, "the row written, or its existing twin when skipped"),
        .init("field", .string(), required: false, "the column at fault, when failed"),
        .init("reason", .string(), required: false, "why it failed, in a word (invalid, already_exists, …)"),
        .init("message", .string(), required: false, "why it failed, in a sentence"),
    ])

    static let result = Schema.object([
        .init("rows", .array(items: rowReport), "one report per row, in the order sent"),
        .init("written", .integer(minimum: 0), "rows written"),
        .init("skipped", .integer(minimum: 0), "rows skipped as duplicates"),
        .init("failed", .integer(minimum: 0), "rows refused"),
        .init("dry_run", .boolean, "nothing was written"),
    ])

    /// A column's schema as the whole call checks it: its JSON type only. Lengths, ranges, formats and enumerations
    /// are checked per row (a misspelt kind fails its row, not the batch).
    static func relaxed(_ schema: Schema) -> Schema {
        switch schema {
        case .string, .enumeration: .string()
        case .integer: .integer()
        case .numberInRange: .number
        case .nullable(let inner): .nullable(relaxed(inner))
        default: schema
        }
    }

    /// `<entity>.import` whose rows are the create method's params, less the idempotency key.
    static func method(_ name: String, summary: String, create: MethodDefinition, function: SQLFunctionName) -> MethodDefinition {
        method(name, summary: summary, columns: create.params.filter { $0.name != DomainSupport.idempotencyField.name },
               access: create.access, function: function)
    }

    /// `<entity>.import` with its own columns (references by code rather than ids: engagement.import).
    static func method(
        _ name: String, summary: String, columns: [Schema.Field], access: MethodDefinition.Access, function: SQLFunctionName
    ) -> MethodDefinition {
        // The columns are declared (clients learn names and types from rpc.discover) but none is required here: a
        // row missing a value is reported as that row's failure below, not as the whole call's.
        let row = Schema.Field(
            "values", .object(columns.map { .init($0.name, relaxed($0.schema), required: false, $0.summary) }, additionalProperties: true),
            "the row's values by column (\(columns.filter(\.required).map(\.name).joined(separator: ", ")) required)")
        var definition = MethodDefinition(
            name, summary: summary,
            params: [
                .init("rows", .array(items: .object([.init("row", .integer(minimum: 0), "its number, echoed in the report"), row]),
                                     maxItems: maximumRows), "the rows, at most \(maximumRows)"),
                .init("dry_run", .boolean, required: false, "check every row and write none"),
                .init("atomic", .boolean, required: false, "write every row or, when any fails, none"),
            ],
            result: result, access: access
        ) { context, params throws(RPCError) in
            var refused: [JSONValue] = []
            var valid: [JSONValue] = []
            for item in params.value("rows")?.arrayValue ?? [] {
                let number = item["row"] ?? .number("0")
                let values = item["values"]?.objectValue ?? JSONObject()
                do throws(RPCError) {
                    _ = try ParamReader(.byName(values), fields: columns)
                    valid.append(.object(["row": number, "values": .object(values)]))
                } catch {
                    let problem = error.fields.first
                    var report: JSONObject = ["row": number, "status": "failed", "reason": "invalid"]
                    if let problem {
                        report["field"] = .string(String(problem.path.dropFirst("params.".count)))
                        report["message"] = .string(problem.message)
                    }
                    refused.append(.object(report))
                }
            }
            let atomic = params.bool("atomic") ?? false
            let dryRun = params.bool("dry_run") ?? false
            // Atomic with a row already refused here: the database checks the others, writes none.
            let undo = atomic && !refused.isEmpty
            let reply = try await context.call(
                function, with: ["rows": .array(valid), "dry_run": .bool(dryRun || undo), "atomic": .bool(atomic)])
            var rows = reply["rows"]?.arrayValue ?? []
            if undo && !dryRun {
                rows = rows.map { row in
                    guard row["status"] == "valid", var object = row.objectValue else { return row }
                    object["status"] = "not_written"
                    return .object(object)
                }
            }
            let all = (rows + refused).sorted { ($0["row"]?.intValue ?? 0) < ($1["row"]?.intValue ?? 0) }
            return .result(.object([
                "rows": .array(all),
                "written": reply["written"] ?? .number("0"),
                "skipped": reply["skipped"] ?? .number("0"),
                "failed": .number(String((reply["failed"]?.intValue ?? 0) + refused.count)),
                "dry_run": .bool(dryRun),
            ]))
        }
        definition.function = function
        return definition
    }
}

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
        .init("rows", .array(items: rowReport), required: false, "one report per row, in the order sent (a staged import's commit: the failed rows only)"),
        .init("written", .integer(minimum: 0), required: false, "rows written"),
        .init("skipped", .integer(minimum: 0), required: false, "rows skipped as duplicates"),
        .init("failed", .integer(minimum: 0), required: false, "rows refused"),
        .init("dry_run", .boolean, required: false, "nothing was written"),
        .init("import_id", .uuid, required: false, "staging (import_id without commit): the import"),
        .init("staged", .integer(minimum: 0), required: false, "staging: the rows the import holds so far"),
    ])

    /// A column's schema as the whole call checks it: its JSON type only. Lengths, ranges, formats, enumerations and
    /// the insides of arrays and objects are checked per row (a misspelt kind fails its row, not the batch).
    static func relaxed(_ schema: Schema) -> Schema {
        switch schema {
        case .string, .enumeration: .string()
        case .integer: .integer()
        case .numberInRange: .number
        case .array: .array(items: .any(description: "checked per row"))
        case .object: .object([], additionalProperties: true)
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
        let refused = Schema.Field(
            "refused", .object([.init("field", .string(), "the column"), .init("message", .string(), "why")]), required: false,
            "the client found the row invalid already (engagementctl: a cell that is not of its column's type): it is reported failed with this, and its check-in, for check-in lines, is not written")
        var definition = MethodDefinition(
            name, summary: summary,
            params: [
                .init("rows", .array(items: .object([.init("row", .integer(minimum: 0), "its number, echoed in the report"), row, refused]),
                                     maxItems: maximumRows), "the rows, at most \(maximumRows)"),
                .init("dry_run", .boolean, required: false, "check every row and write none"),
                .init("atomic", .boolean, required: false, "write every row or, when any fails, none"),
                .init("import_id", .uuid, required: false,
                      "stage these rows under this id (the client's) instead of writing them; a file larger than one call is staged in batches"),
                .init("commit", .boolean, required: false,
                      "with import_id: write every staged row and these in one transaction (atomic), and answer totals and the failed rows"),
            ],
            result: result, access: access
        ) { context, params throws(RPCError) in
            // Each row against the columns, as a single call's params; one refused here goes to the database too,
            // which reports it in its place (and fails a check-in whose line it is).
            let rows = (params.value("rows")?.arrayValue ?? []).map { item -> JSONValue in
                guard var entry = item.objectValue, entry["refused"] == nil else { return item }
                do throws(RPCError) {
                    _ = try ParamReader(.byName(entry["values"]?.objectValue ?? JSONObject()), fields: columns)
                } catch {
                    let problem = error.fields.first
                    entry["refused"] = .object([
                        "field": .string(problem.map { String($0.path.dropFirst("params.".count)) } ?? ""),
                        "message": .string(problem?.message ?? error.message),
                    ])
                }
                return .object(entry)
            }
            var forwarded = params.values
            forwarded["rows"] = .array(rows)
            return .result(try await context.call(function, with: forwarded, untimed: params.bool("commit") == true && params.value("import_id") != nil))
        }
        definition.function = function
        return definition
    }
}

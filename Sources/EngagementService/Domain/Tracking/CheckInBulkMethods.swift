import JSONRPC
import PostgresClient

/// Many engagements' check-ins in one call. Items of one engagement are written in one transaction (all or
/// nothing for that engagement); engagements are independent of each other. Every item gets a result. The work:
/// `api.checkin_submit_many` (`SQL/definitions/0141_api_check_ins.sql`); the server turns each failed item's
/// database error into the JSON-RPC error it would have been for one call, with its paths under the item.
enum CheckInBulkMethods {
    static let all: [MethodDefinition] = [submitMany, spreadsheet]

    /// A spreadsheet of check-in lines: one row per finance line, KPI value or capacity entry; the rows of one
    /// engagement and month make its check-in (`api.checkin_import`).
    static let spreadsheet = BulkImport.method(
        "checkin.import",
        summary: "Monthly check-ins from a spreadsheet of lines (engagementctl import checkins FILE.csv): one row per finance line, KPI value or capacity entry, the rows of an engagement and month making its check-in, all in the same call; a report per row; a month that has a check-in is skipped.",
        columns: [
            .init("engagement_code", ServiceMethods.code, "the engagement, by code"),
            .init("period", CheckInMethods.period, "the month, YYYY-MM"),
            .init("section", .enumeration(["finance", "kpi", "capacity", "notes"]), "what the row is: a finance line, a KPI value, a capacity entry, or notes only"),
            .init("notes", .string(maxLength: 10000), required: false, "the check-in's notes (any row; several are joined)"),
            .init("category", .enumeration(CheckInMethods.categories), required: false, "finance: what the amount is"),
            .init("label", .string(maxLength: 200), required: false, "finance: free text, e.g. the supplier"),
            .init("plan", .number, required: false, "finance: planned amount (plan or actual is required)"),
            .init("actual", .number, required: false, "finance: actual amount; kpi: the month's value"),
            .init("currency", ContractMethods.currency, required: false, "finance: ISO 4217, the contract's by default"),
            .init("kpi", .string(minLength: 1, maxLength: 100), required: false, "kpi: the KPI's name"),
            .init("role", .string(minLength: 1, maxLength: 100), required: false, "capacity: role or rate-card line"),
            .init("person", .string(minLength: 1, maxLength: 200), required: false, "capacity: who, where known"),
            .init("planned_hours", .nonNegativeNumber, required: false, "capacity: planned hours"),
            .init("actual_hours", .nonNegativeNumber, required: false, "capacity: hours worked"),
            .init("deliverer_ref", .string(minLength: 1, maxLength: 100), required: false, "the line's delivery party, by external_ref"),
        ],
        access: .role(.member), function: "api.checkin_import")

    static let item = Schema.object(
        [
            .init("engagement_id", .uuid, "the engagement"),
            .init("period", CheckInMethods.period, "the month, YYYY-MM"),
        ] + CheckInMethods.contentFields + CheckInMethods.replaceFields)

    static let submitMany = MethodDefinition(
        "checkin.submit_many",
        summary: "Submit many check-ins at once: all-or-nothing per engagement, a result per item.",
        params: [.init("items", .array(items: item, maxItems: 200), "the check-ins, each as for checkin.submit")],
        result: .object([
            .init("written", .integer(minimum: 0), "items written"), .init("failed", .integer(minimum: 0), "items not written"),
            .init("results", .array(items: .object([
                .init("index", .integer(minimum: 0), "the item"), .init("engagement_id", .uuid, "its engagement"),
                .init("period", .string(), "its month"), .init("status", .enumeration(["written", "failed", "rolled_back"]), "what happened"),
                .init("id", .uuid, required: false, "the check-in (written)"), .init("version", .integer(minimum: 1), required: false, "its version (written)"),
                .init("error", .any(description: "{code, message, data} as for checkin.submit"), required: false, "why (failed)"),
                .init("caused_by", .integer(minimum: 0), required: false, "the failed item of the same engagement (rolled_back)"),
            ])), "one per item, in order"),
        ]),
        access: .role(.member)
    ) { context, params throws(RPCError) in
        let reply = try await context.call("api.checkin_submit_many", with: params.values)
        var results: [JSONValue] = []
        for result in reply["results"]?.arrayValue ?? [] {
            guard var item = result.objectValue else { continue }
            if let failure = item["database_error"], let index = item["index"]?.intValue {
                item["database_error"] = nil
                item["error"] = relocated(DatabaseErrorMapping.rpcError(for: databaseError(failure)), toItem: index).json
            }
            results.append(.object(item))
        }
        let written = results.filter { $0["status"]?.stringValue == "written" }.count
        return .result([
            "written": .number(String(written)), "failed": .number(String(results.count - written)), "results": .array(results),
        ])
    }

    /// The error the database reported for an item, as PostgreSQL would have raised it for a single call.
    static func databaseError(_ failure: JSONValue) -> PostgresError {
        .server(PostgresServerError(
            sqlState: SQLState(failure["sqlstate"]?.stringValue ?? "XX000"), message: failure["message"]?.stringValue ?? "",
            hint: failure["hint"]?.stringValue, column: failure["column"]?.stringValue))
    }

    /// The error with its field paths pointing into the item: `params.period` becomes `params.items[3].period`.
    static func relocated(_ error: RPCError, toItem index: Int) -> RPCError {
        guard !error.fields.isEmpty else { return error }
        let fields = error.fields.map { field in
            FieldProblem(
                path: field.path.hasPrefix("params.") || field.path == "params"
                    ? "params.items[\(index)]" + field.path.dropFirst("params".count) : field.path,
                message: field.message)
        }
        return RPCError(error.code, error.message, reason: error.reason, fields: fields,
                        retryAfterMilliseconds: error.retryAfterMilliseconds, limit: error.limit)
    }
}

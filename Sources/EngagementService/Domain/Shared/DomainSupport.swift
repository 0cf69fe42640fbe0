import Crypto
import Foundation
import JSONRPC
import PostgresClient

/// Pieces shared by the domain methods: keyset cursors, idempotency, and the outcome of versioned writes.
enum DomainSupport {
    /// Params every list method takes.
    static let listFields: [Schema.Field] = [
        .init("sort", .enumeration(["name", "created_at"]), required: false, "sort key (default name)"),
        .init("order", .enumeration(["asc", "desc"]), required: false, "direction (default asc)"),
        .init("limit", .integer(minimum: 1, maximum: 200), required: false, "page size (default 50)"),
        .init("cursor", .string(minLength: 1, maxLength: 1000), required: false, "next_cursor of the previous page"),
    ]

    static let idempotencyField = Schema.Field(
        "idempotency_key", .string(minLength: 1, maxLength: 200), required: false,
        "a client-chosen key: a retry with the same key returns the first reply instead of writing again (kept a day)")

    /// A JSON number param as its exact text, for a numeric column.
    static func number(_ params: ParamReader, _ name: String) -> String? {
        if case .number(let lexeme)? = params.value(name) { return lexeme }
        return nil
    }

    /// The reply of a delete.
    static let deleted = Schema.object([
        .init("id", .uuid, "the deleted entity"), .init("deleted", .boolean, "always true"),
    ])

    /// The reply of a list: one page of items and the cursor of the next page.
    static func page(of item: Schema) -> Schema {
        .object([
            .init("items", .array(items: item), "this page, in the requested order"),
            .init("next_cursor", .nullable(.string()), "pass as cursor for the next page; null on the last page"),
        ])
    }

    /// The page a list call asks for.
    struct Page {
        let sort: String
        let order: String
        let limit: Int
        /// The key and id of the last row of the previous page.
        let after: (key: String, id: UUID)?

        /// The column behind `sort` (normally the sort key itself), from the method's declaration.
        var columnOverride: String? = nil
        /// The SQL type of that column when it is neither text nor a timestamp (a check-in's month is a date).
        var keyTypeOverride: String? = nil

        /// SQL fragments from a fixed whitelist: never from client text.
        var column: String { columnOverride ?? (sort == "created_at" ? "created_at" : "name") }
        var keyType: String { keyTypeOverride ?? (sort == "created_at" ? "timestamptz" : "text") }
        var comparison: String { order == "desc" ? "<" : ">" }
        var direction: String { order == "desc" ? "DESC" : "ASC" }

        func sortingBy(_ column: String, type: String? = nil) -> Page {
            var page = self
            page.columnOverride = column
            page.keyTypeOverride = type ?? keyTypeOverride
            return page
        }
    }

    /// Reads sort, order, limit and cursor; a cursor that is malformed or was made for another sort is
    /// refused with -32602 at `params.cursor`.
    static func page(_ params: ParamReader, defaultSort: String = "name") throws(RPCError) -> Page {
        let sort = params.string("sort") ?? defaultSort
        let order = params.string("order") ?? "asc"
        let limit = params.int("limit") ?? 50
        guard let cursor = params.string("cursor") else { return Page(sort: sort, order: order, limit: limit, after: nil) }
        let invalid = RPCError.invalidParams([FieldProblem(path: "params.cursor", message: "is not a cursor of this listing")])
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let document = try? JSONParser.parse(Array(data)),
            document["sort"]?.stringValue == sort, document["order"]?.stringValue == order,
            let key = document["key"]?.stringValue, let id = document["id"]?.stringValue.flatMap(UUID.init(uuidString:))
        else { throw invalid }
        return Page(sort: sort, order: order, limit: limit, after: (key, id))
    }

    /// SQL that turns the last row of a page into the opaque cursor (base64url of a small JSON document).
    static func cursorExpression(_ page: Page, row: String) -> String {
        """
        translate(encode(convert_to(jsonb_build_object('sort', '\(page.sort)', 'order', '\(page.order)',
            'key', (\(row)).\(page.column)::text, 'id', (\(row)).id)::text, 'UTF8'), 'base64'), E'+/=\\n', '-_')
        """
    }

    /// A list filter: the service in `serviceColumn` is in the portfolio given as parameter `$parameter`.
    static func inPortfolio(serviceColumn: String, parameter: Int) -> String {
        """
        ($\(parameter)::uuid IS NULL OR EXISTS (SELECT FROM app.portfolio_services ps
            WHERE ps.organisation_id = row.organisation_id AND ps.service_id = \(serviceColumn) AND ps.portfolio_id = $\(parameter)::uuid))
        """
    }

    /// A case-insensitive "contains" pattern for ILIKE in which `%` and `_` of the text are literal.
    static func containsPattern(_ text: String) -> String {
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
        return "%\(escaped)%"
    }

    /// SHA-256 of the params without the idempotency key: a reused key must come with the same request.
    static func requestHash(_ params: ParamReader) -> String {
        var values = params.values
        values["idempotency_key"] = nil
        return SHA256.hash(data: JSONWriter.encode(.object(values))).map { String(format: "%02x", $0) }.joined()
    }

    /// Interprets the `(body, current_version, current_kind)` row of a versioned update or delete: written, or
    /// why not (absent in this organisation, or a stale version).
    static func versionedWrite(_ result: PostgresResult, requestedVersion: Int) throws(RPCError) -> ResponseBody {
        if let body = result.bytes(0, 0) { return .result(rawJSON: body) }
        guard let current = result.int(0, 1) else { throw RPCError(.notFound, reason: "not_found") }
        throw RPCError(
            .conflict, "Conflict: version \(requestedVersion) is stale; the current version is \(current)",
            reason: "stale_version")
    }
}

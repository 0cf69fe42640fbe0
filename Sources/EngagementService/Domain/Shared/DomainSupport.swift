import JSONRPC

/// Declarations shared by the domain methods: the params every list and create takes, and the result shapes
/// of deletes and pages. The behaviour behind them is SQL's (`SQL/definitions/0100_api_support.sql`).
enum DomainSupport {
    /// Params every list method takes (`api.list` reads them).
    static let listFields: [Schema.Field] = [
        .init("sort", .enumeration(["name", "created_at"]), required: false, "sort key (default name)"),
        .init("order", .enumeration(["asc", "desc"]), required: false, "direction (default asc)"),
        .init("limit", .integer(minimum: 1, maximum: 200), required: false, "page size (default 50)"),
        .init("cursor", .string(minLength: 1, maxLength: 1000), required: false, "next_cursor of the previous page"),
    ]

    /// The list params of a listing that offers other sort keys than name and created_at.
    static func listFields(sorts: [String], defaultSort: String) -> [Schema.Field] {
        listFields.map { field in
            field.name == "sort" ? .init("sort", .enumeration(sorts), required: false, "sort key (default \(defaultSort))") : field
        }
    }

    static let idempotencyField = Schema.Field(
        "idempotency_key", .string(minLength: 1, maxLength: 200), required: false,
        "a client-chosen key: a retry with the same key returns the first reply instead of writing again (kept a day)")

    /// The params naming one versioned row to change or delete: its id and the version the client last read.
    static func versioned(_ what: String) -> [Schema.Field] {
        [.init("id", .uuid, what), .init("version", .integer(minimum: 1), "the version you last read")]
    }

    /// The fields every versioned row's rendering ends with.
    static let rowFields: [Schema.Field] = [
        .init("version", .integer(minimum: 1), "row version"),
        .init("created_at", .string(format: "date-time"), "created"),
        .init("updated_at", .string(format: "date-time"), "last changed"),
    ]

    /// A point-in-time read's param (engagement.get, contract.get): `SQL/definitions/0340_point_in_time.sql`.
    static let asOfParam = Schema.Field(
        "as_of", HealthMethods.timestamp, required: false,
        "answer as it was then, from the audit log (sources says which parts); before it existed: -32602")

    /// An entity's rendering with what a point-in-time read adds to it.
    static func asOf(_ entity: Schema) -> Schema {
        guard case .object(let fields, _) = entity else { return entity }
        return .object(fields + [
            .init("as_of", .string(format: "date-time"), required: false, "the time answered for (as_of given)"),
            .init("sources", .dictionary(values: .enumeration(["audit_log", "current"])), required: false,
                  "per part of the answer: rebuilt from the audit log, or as it is now"),
        ])
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
}

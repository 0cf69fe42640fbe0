import Foundation
import JSONRPC
import PostgresClient

/// SQL shapes shared by the domain methods. Every fragment interpolated here comes from the method
/// declarations (table, column and function names) or from `DomainSupport.Page`'s whitelist, never from
/// client input; client values are always bound parameters.
enum DomainSQL {
    /// A create that honours `idempotency_key`, as two statements of one pipeline (one round trip):
    ///
    /// 1. the insert, with an id chosen here, skipped when the key was seen before;
    /// 2. the rendering of the row by that id, remembered under the key, or the first reply of a retry.
    ///
    /// Rendering in a second statement matters: `RETURNING` is computed before AFTER triggers run, so rows
    /// that triggers add (an engagement's default deliverer) would be missing from the reply.
    /// `values` refer to `parameters` as $4, $5, …
    static func idempotentCreate(
        table: String, method: String, columns: [String], values: [String], render: String,
        params: ParamReader, parameters: [(any PostgresParameter)?]
    ) -> [Statement] {
        let key = params.string("idempotency_key")
        let hash = DomainSupport.requestHash(params)
        let id = UUID()
        let insert = """
            INSERT INTO app.\(table) (organisation_id, id, \(columns.joined(separator: ", ")), created_by, updated_by)
            SELECT app.current_organisation_id(), $3::uuid, \(values.joined(separator: ", ")), app.current_user_id(), app.current_user_id()
            WHERE app.idempotent_replay($1, '\(method)', $2) IS NULL
            """
        return [Statement(insert, [key, hash, id] + parameters),
                idempotentReply(table: table, method: method, render: render, key: key, hash: hash, match: ("row.id = $3::uuid", [id]))]
    }

    /// The second statement of an idempotent create: the row that `match` finds (SQL over `row` with its own
    /// parameters from $3 on) rendered and remembered under the key ($1, with request hash $2), or the first
    /// reply when the key was seen before.
    static func idempotentReply(
        table: String, method: String, render: String, key: String?, hash: String,
        match: (condition: String, parameters: [(any PostgresParameter)?])
    ) -> Statement {
        Statement(
            """
            WITH replay AS (SELECT app.idempotent_replay($1, '\(method)', $2) AS response),
            rendered AS (
                SELECT app.\(render)(row) AS body FROM app.\(table) row
                WHERE row.organisation_id = app.current_organisation_id() AND \(match.condition)
                  AND (SELECT response FROM replay) IS NULL),
            remembered AS (
                INSERT INTO app.idempotency_keys (organisation_id, key, method, request_hash, response)
                SELECT app.current_organisation_id(), $1, '\(method)', $2, body FROM rendered WHERE $1::text IS NOT NULL)
            SELECT coalesce((SELECT response FROM replay), (SELECT body FROM rendered))
            """, [key, hash] + match.parameters)
    }

    /// An assignment for a param that may be given as null to clear the column: `$flag` says whether the param
    /// was given at all, `$flag+1` holds its value.
    static func settable(_ column: String, flag: Int, cast: String) -> String {
        "\(column) = CASE WHEN $\(flag)::boolean THEN $\(flag + 1)::\(cast) ELSE row.\(column) END"
    }

    /// An assignment for a boolean param that sets a timestamp column (archived_at, disabled_at): true stamps
    /// it (keeping an earlier stamp), false clears it, absent leaves it.
    static func toggledTimestamp(_ column: String, parameter: Int) -> String {
        "\(column) = CASE WHEN $\(parameter)::boolean IS NULL THEN row.\(column) WHEN $\(parameter)::boolean THEN coalesce(row.\(column), now()) END"
    }

    /// One row by id ($1), rendered.
    static func get(table: String, render: String) -> String {
        "SELECT app.\(render)(row) FROM app.\(table) row WHERE row.organisation_id = app.current_organisation_id() AND row.id = $1::uuid"
    }

    /// An update of the row with id $1 at version $2; `assignments` use $3 onwards and may refer to `row`.
    /// Returns (rendered row or NULL, current version or NULL, `extra` of the current row).
    static func versionedUpdate(table: String, assignments: [String], render: String, extra: String = "NULL") -> String {
        versionedWrite(
            table: table, extra: extra,
            write: """
                UPDATE app.\(table) AS row SET \(assignments.joined(separator: ", "))
                WHERE row.organisation_id = app.current_organisation_id() AND row.id = $1::uuid AND row.version = $2
                RETURNING app.\(render)(row) AS body
                """)
    }

    /// A delete of the row with id $1 at version $2 (and `condition`), in the same result shape as
    /// `versionedUpdate`.
    static func versionedDelete(table: String, extra: String = "NULL", condition: String = "true") -> String {
        versionedWrite(
            table: table, extra: extra,
            write: """
                DELETE FROM app.\(table) AS row
                WHERE row.organisation_id = app.current_organisation_id() AND row.id = $1::uuid AND row.version = $2
                  AND \(condition)
                RETURNING jsonb_build_object('id', row.id, 'deleted', true) AS body
                """)
    }

    private static func versionedWrite(table: String, extra: String, write: String) -> String {
        // All parts of one statement see the same snapshot: `current` is the row as it was before the write.
        """
        WITH current AS (
            SELECT row.version, \(extra) AS extra FROM app.\(table) row
            WHERE row.organisation_id = app.current_organisation_id() AND row.id = $1::uuid),
        written AS (\(write))
        SELECT (SELECT body FROM written), (SELECT version FROM current), (SELECT extra FROM current)
        """
    }

    /// A page of rows: `filters` are boolean SQL over `row` using $1…$n (n = `filterParameters`); the page's
    /// keyset and limit follow as $n+1 (key), $n+2 (id), $n+3 (limit).
    /// `sortColumns` renames a sort key to the table's column (users sort "name" by display_name); `sortTypes`
    /// gives the SQL type of a sort key that is neither text nor a timestamp.
    static func list(
        table: String, render: String, filters: [String], filterParameters: Int, page: DomainSupport.Page,
        sortColumns: [String: String] = [:], sortTypes: [String: String] = [:]
    ) -> String {
        let page = page.sortingBy(sortColumns[page.sort] ?? sortColumns[page.column] ?? page.column, type: sortTypes[page.sort])
        let key = "$\(filterParameters + 1)"
        let id = "$\(filterParameters + 2)"
        let limit = "$\(filterParameters + 3)::int"
        let order = "\(page.direction)"
        return """
            WITH page AS (
                SELECT item, row_number() OVER (ORDER BY (item).\(page.column) \(order), (item).id \(order)) AS n
                FROM (
                    SELECT row AS item FROM app.\(table) row
                    WHERE row.organisation_id = app.current_organisation_id()
                      AND \((filters + ["(\(key)::text IS NULL OR (row.\(page.column), row.id) \(page.comparison) (\(key)::\(page.keyType), \(id)::uuid))"]).joined(separator: "\n  AND "))
                    ORDER BY row.\(page.column) \(order), row.id \(order)
                    LIMIT \(limit) + 1) rows)
            SELECT jsonb_build_object(
                'items', coalesce((SELECT jsonb_agg(app.\(render)(item) ORDER BY n) FROM page WHERE n <= \(limit)), '[]'::jsonb),
                'next_cursor', (SELECT \(DomainSupport.cursorExpression(page, row: "item")) FROM page
                                WHERE n = \(limit) AND EXISTS (SELECT FROM page WHERE n = \(limit) + 1)))
            """
    }
}

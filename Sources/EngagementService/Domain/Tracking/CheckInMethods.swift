import Foundation
import JSONRPC
import PostgresClient

/// Monthly check-ins: one engagement's finance lines, KPI values and capacity hours for one month. The database
/// decides what is accepted (active engagements; after completion the final check-in, once; months within the
/// engagement's dates; items valid for the engagement) and keeps every revision; these methods ask for it.
enum CheckInMethods {
    static let all: [MethodDefinition] = [submit, amend, get, list, history] + CheckInBulkMethods.all

    static let checkIn = Schema.any(description: """
        a check-in: {id, engagement_id, period (YYYY-MM), is_final, notes, finance: [{category, label, plan, actual, \
        variance, currency, deliverer_party_id, attributed_party_id}], kpis: [{kpi_id, kpi, unit, target, direction, \
        actual, deliverer_party_id, attributed_party_id}], capacity: [{role, person, planned_hours, actual_hours, \
        deliverer_party_id, attributed_party_id}], version, created_at, created_by, updated_at, updated_by}
        """)
    /// A calendar month, YYYY-MM.
    static let period = Schema.string(minLength: 7, maxLength: 7, pattern: "(19|20)[0-9]{2}-(0[1-9]|1[0-2])")
    static let categories = ["revenue", "labour_cost", "licences", "third_party_cost", "expenses", "other_cost"]

    static let financeLine = Schema.object([
        .init("category", .enumeration(categories), "what the amount is"),
        .init("label", .string(maxLength: 200), required: false, "free text, e.g. the supplier"),
        .init("plan", .number, required: false, "planned amount (plan or actual is required)"),
        .init("actual", .number, required: false, "actual amount"),
        .init("currency", ContractMethods.currency, required: false, "ISO 4217; must be the contract's (the default) when there is one"),
        .init("deliverer_party_id", .uuid, required: false, "attribute to this delivery party of the engagement"),
    ])
    static let kpiValue = Schema.object([
        .init("kpi", .string(minLength: 1, maxLength: 100), "the KPI's name (a KPI of the engagement)"),
        .init("actual", .number, "the month's value"),
        .init("deliverer_party_id", .uuid, required: false, "attribute to this delivery party of the engagement"),
    ])
    static let capacityEntry = Schema.object([
        .init("role", .string(minLength: 1, maxLength: 100), "role or rate-card line (matched to contract rates)"),
        .init("person", .string(minLength: 1, maxLength: 200), required: false, "who, where known"),
        .init("planned_hours", .nonNegativeNumber, required: false, "planned hours (planned or actual is required)"),
        .init("actual_hours", .nonNegativeNumber, required: false, "hours worked"),
        .init("deliverer_party_id", .uuid, required: false, "attribute to this delivery party of the engagement"),
    ])
    /// The content of a check-in; on amendment a section given replaces that section, one left out is kept.
    static let contentFields: [Schema.Field] = [
        .init("notes", .string(maxLength: 10000), required: false, "free text"),
        .init("finance", .array(items: financeLine, maxItems: 200), required: false, "finance lines"),
        .init("kpis", .array(items: kpiValue, maxItems: 200), required: false, "KPI values"),
        .init("capacity", .array(items: capacityEntry, maxItems: 500), required: false, "capacity entries"),
    ]
    static let references = [
        "check_ins_engagement_fk": "params.engagement_id",
        "check_ins_month_unique": "params.period",
    ]

    static let submit = MethodDefinition(
        "checkin.submit",
        summary: "Submit an engagement's check-in for a month (active engagements; once completed, only the final one).",
        params: [
            .init("engagement_id", .uuid, "the engagement"),
            .init("period", period, "the month, YYYY-MM, within the engagement's dates"),
        ] + contentFields + replaceFields + [DomainSupport.idempotencyField],
        result: checkIn, access: .role(.member)
    ) { context, params throws(RPCError) in
        let key = params.string("idempotency_key")
        let hash = DomainSupport.requestHash(params)
        let engagement = params.string("engagement_id")
        let month = params.string("period")
        return try await context.jsonOfLast([
            changeReason(resubmissionReason(params.values)),
            submitStatement(id: UUID(), engagement: engagement, period: month, content: content(params),
                            replace: params.bool("replace") ?? false, idempotency: (key, hash)),
            // By month rather than id: a resubmission keeps the check-in's id.
            DomainSQL.idempotentReply(
                table: "check_ins", method: "checkin.submit", render: "check_in_json", key: key, hash: hash,
                match: ("row.engagement_id = $3::uuid AND row.period = to_date($4, 'YYYY-MM')", [engagement, month])),
        ], references: references)
    }

    static let amend = MethodDefinition(
        "checkin.amend",
        summary: "Amend a check-in: the sections given replace the old ones; the previous content stays in its history.",
        params: [
            .init("id", .uuid, "the check-in"),
            .init("version", .integer(minimum: 1), "the version you last read"),
            .init("reason", .string(maxLength: 1000), required: false, "why, kept in the history"),
        ] + contentFields,
        result: checkIn, access: .role(.member)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let results = try await context.run([
            changeReason(params.string("reason") ?? ""),
            Statement(
                "SELECT (w).written, (w).current_version FROM (SELECT app.write_check_in($1::uuid, NULL, NULL, $2, $3::jsonb, false) AS w OFFSET 0) s",
                [params.string("id"), version, content(params)]),
            Statement(DomainSQL.get(table: "check_ins", render: "check_in_json"), [params.string("id")]),
        ], references: references)
        guard results[1].bool(0, 0) == true, let body = results[2].bytes(0, 0) else {
            guard let current = results[1].int(0, 1) else { throw RPCError(.notFound, reason: "not_found") }
            throw RPCError(
                .conflict, "Conflict: version \(version) is stale; the current version is \(current)", reason: "stale_version")
        }
        return .result(rawJSON: body)
    }

    static let get = MethodDefinition(
        "checkin.get", summary: "One check-in, by id.",
        params: [.init("id", .uuid, "the check-in")], result: checkIn, access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(DomainSQL.get(table: "check_ins", render: "check_in_json"), [params.string("id")]))
    }

    static let list = MethodDefinition(
        "checkin.list", summary: "Check-ins, filtered, sorted by month (default) or submission time, one page at a time.",
        params: [
            .init("engagement_id", .uuid, required: false, "only this engagement's"),
            .init("from", period, required: false, "from this month on"),
            .init("to", period, required: false, "up to this month"),
            .init("is_final", .boolean, required: false, "only final check-ins, or only others"),
            .init("sort", .enumeration(["period", "created_at"]), required: false, "sort key (default period)"),
        ] + DomainSupport.listFields.filter { $0.name != "sort" },
        result: .any(description: "{items: [check-in], next_cursor: string or null}"), access: .role(.viewer)
    ) { context, params throws(RPCError) in
        let page = try DomainSupport.page(params, defaultSort: "period")
        return try await context.json(Statement(
            DomainSQL.list(
                table: "check_ins", render: "check_in_json",
                filters: [
                    "($1::uuid IS NULL OR row.engagement_id = $1::uuid)",
                    "($2::text IS NULL OR row.period >= to_date($2, 'YYYY-MM'))",
                    "($3::text IS NULL OR row.period <= to_date($3, 'YYYY-MM'))",
                    "($4::boolean IS NULL OR row.is_final = $4::boolean)",
                ],
                filterParameters: 4, page: page, sortColumns: ["period": "period"], sortTypes: ["period": "date"]),
            [params.string("engagement_id"), params.string("from"), params.string("to"), params.bool("is_final"),
             page.after?.key, page.after?.id, page.limit]))
    }

    static let history = MethodDefinition(
        "checkin.history",
        summary: "Every revision of a check-in, oldest first: who, when, why, the content, and what changed per section.",
        params: [.init("id", .uuid, "the check-in")],
        result: .any(description: "[{revision, written_by, written_at, method, reason, content, changes: {section: {before, after}}}]"),
        access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(
            """
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'revision', r.revision, 'written_by', r.written_by, 'written_at', r.written_at, 'method', r.method,
                       'reason', r.reason, 'content', r.content, 'changes', r.changes) ORDER BY r.revision)
                       FILTER (WHERE r.revision IS NOT NULL), '[]'::jsonb)
            FROM app.check_ins c
            LEFT JOIN app.check_in_revisions r ON r.organisation_id = c.organisation_id AND r.check_in_id = c.id
            WHERE c.organisation_id = app.current_organisation_id() AND c.id = $1::uuid
            GROUP BY c.id
            """, [params.string("id")]))
    }

    /// Resubmission of a month that exists.
    static let replaceFields: [Schema.Field] = [
        .init("replace", .boolean, required: false, "true: resubmit a month that exists (its whole content is replaced, as a new revision); default false: -32004 already_exists"),
        .init("reason", .string(maxLength: 1000), required: false, "why, kept in the history of a resubmission"),
    ]

    /// Sets the reason the revision of this transaction's check-in write records (read by the revision trigger at
    /// commit; gone with the transaction).
    static func changeReason(_ reason: String) -> Statement {
        Statement("SELECT set_config('app.change_reason', $1, true)", [reason])
    }

    /// The reason a revision records for a submission: given, or "resubmitted" for a replacement.
    static func resubmissionReason(_ values: JSONObject) -> String {
        values["reason"]?.stringValue ?? (values["replace"]?.boolValue == true ? "resubmitted" : "")
    }

    /// The write of a new check-in, skipped when `idempotency` names a request already answered.
    static func submitStatement(
        id: UUID, engagement: String?, period: String?, content: String, replace: Bool,
        idempotency: (key: String?, hash: String)? = nil
    ) -> Statement {
        Statement(
            """
            SELECT CASE WHEN app.idempotent_replay($5, 'checkin.submit', $6) IS NULL
                        THEN (app.write_check_in($1::uuid, $2::uuid, to_date($3, 'YYYY-MM'), NULL, $4::jsonb, $7)).written END
            """, [id, engagement, period, content, idempotency?.key, idempotency?.hash ?? "", replace])
    }

    /// The content params as the JSON document `app.write_check_in` takes (numbers keep their exact text).
    static func content(_ params: ParamReader) -> String {
        content(of: params.values)
    }

    static func content(of values: JSONObject) -> String {
        var content = JSONObject()
        for field in contentFields { content[field.name] = values[field.name] }
        return JSONWriter.string(.object(content))
    }
}

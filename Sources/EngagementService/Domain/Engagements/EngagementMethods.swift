import JSONRPC
import PostgresClient

/// Engagements: a service delivered to a customer over a period. Read by every role; written by members and
/// above. Status changes only through `engagement.transition` (see EngagementLifecycleMethods).
enum EngagementMethods {
    static let engagement = Schema.any(
        description: "an engagement: {id, code, name, status, status_changed_at, service: {id, code, name}, customer: {id, name}, template_id, contract_id, start_date, end_date, owner_user_id, deliverers: [{party_id, name, role}], version, created_at, updated_at}")
    static let statuses = ["draft", "active", "on_hold", "completed", "archived"]
    static let date = Schema.string(minLength: 10, maxLength: 10, format: "date", pattern: "[0-9]{4}-[0-9]{2}-[0-9]{2}")
    static let references = [
        "engagements_service_fk": "params.service_id",
        "engagements_customer_fk": "params.customer_party_id",
        "engagements_customer_kind": "params.customer_party_id",
        "engagements_template_fk": "params.template_id",
        "engagements_owner_fk": "params.owner_user_id",
        "engagements_dates": "params.end_date",
        "engagements_contract_fk": "params.contract_id",
        "engagements_contract_customer": "params.contract_id",
        "engagements_code_unique": "params.code",
    ]

    static let all: [MethodDefinition] =
        [create, get, update, delete, list] + EngagementLifecycleMethods.all + EngagementHierarchyMethods.all

    static let create = MethodDefinition(
        "engagement.create",
        summary: "Create an engagement (a draft) of a service for a customer; the organisation delivers it by default.",
        params: [
            .init("service_id", .uuid, "the service delivered"),
            .init("customer_party_id", .uuid, "the customer (a party of kind customer)"),
            .init("code", ServiceMethods.code, "short code, unique per organisation"),
            .init("name", .string(minLength: 1, maxLength: 200), "display name"),
            .init("template_id", .uuid, required: false, "its template (needed before activation)"),
            .init("start_date", date, required: false, "YYYY-MM-DD"),
            .init("end_date", date, required: false, "YYYY-MM-DD, not before start_date"),
            .init("owner_user_id", .uuid, required: false, "the user responsible"),
            .init("contract_id", .uuid, required: false, "its contract (with the same customer)"),
            DomainSupport.idempotencyField,
        ],
        result: engagement, access: .role(.member)
    ) { context, params throws(RPCError) in
        try await context.jsonOfLast(
            DomainSQL.idempotentCreate(
                table: "engagements", method: "engagement.create",
                columns: ["service_id", "customer_party_id", "code", "name", "template_id", "start_date", "end_date",
                          "owner_user_id", "contract_id"],
                values: ["$4::uuid", "$5::uuid", "$6", "btrim($7)", "$8::uuid", "$9::date", "$10::date", "$11::uuid", "$12::uuid"],
                render: "engagement_json", params: params,
                parameters: [params.string("service_id"), params.string("customer_party_id"), params.string("code"),
                             params.string("name"), params.string("template_id"), params.string("start_date"),
                             params.string("end_date"), params.string("owner_user_id"), params.string("contract_id")]),
            references: references)
    }

    static let get = MethodDefinition(
        "engagement.get", summary: "One engagement by id, whatever its status (archived included).",
        params: [.init("id", .uuid, "the engagement")], result: engagement, access: .role(.viewer)
    ) { context, params throws(RPCError) in
        try await context.json(Statement(DomainSQL.get(table: "engagements", render: "engagement_json"), [params.string("id")]))
    }

    static let update = MethodDefinition(
        "engagement.update",
        summary: "Change an engagement's details (not its status); send the version you read.",
        params: [
            .init("id", .uuid, "the engagement"),
            .init("version", .integer(minimum: 1), "the version you last read"),
            .init("service_id", .uuid, required: false, "another service"),
            .init("customer_party_id", .uuid, required: false, "another customer"),
            .init("code", ServiceMethods.code, required: false, "new code"),
            .init("name", .string(minLength: 1, maxLength: 200), required: false, "new name"),
            .init("template_id", .nullable(.uuid), required: false, "new template; null clears it"),
            .init("start_date", .nullable(date), required: false, "new start; null clears it"),
            .init("end_date", .nullable(date), required: false, "new end; null clears it"),
            .init("owner_user_id", .nullable(.uuid), required: false, "new owner; null clears it"),
            .init("contract_id", .nullable(.uuid), required: false, "new contract; null clears it"),
        ],
        result: engagement, access: .role(.member)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let result = try await context.run(
            [Statement(
                DomainSQL.versionedUpdate(
                    table: "engagements",
                    assignments: [
                        "service_id = coalesce($3::uuid, row.service_id)",
                        "customer_party_id = coalesce($4::uuid, row.customer_party_id)",
                        "code = coalesce($5, row.code)",
                        "name = coalesce(btrim($6), row.name)",
                        DomainSQL.settable("template_id", flag: 7, cast: "uuid"), DomainSQL.settable("start_date", flag: 9, cast: "date"),
                        DomainSQL.settable("end_date", flag: 11, cast: "date"), DomainSQL.settable("owner_user_id", flag: 13, cast: "uuid"),
                        DomainSQL.settable("contract_id", flag: 15, cast: "uuid"),
                    ],
                    render: "engagement_json"),
                [params.string("id"), version, params.string("service_id"), params.string("customer_party_id"),
                 params.string("code"), params.string("name"),
                 params.value("template_id") != nil, params.string("template_id"),
                 params.value("start_date") != nil, params.string("start_date"),
                 params.value("end_date") != nil, params.string("end_date"),
                 params.value("owner_user_id") != nil, params.string("owner_user_id"),
                 params.value("contract_id") != nil, params.string("contract_id")])],
            references: references)[0]
        return try DomainSupport.versionedWrite(result, requestedVersion: version)
    }

    static let delete = MethodDefinition(
        "engagement.delete",
        summary: "Delete a draft engagement. Others are kept: complete and archive them with engagement.transition.",
        params: [.init("id", .uuid, "the engagement"), .init("version", .integer(minimum: 1), "the version you last read")],
        result: .any(description: "{id, deleted: true}"), access: .role(.member)
    ) { context, params throws(RPCError) in
        let version = params.int("version") ?? 0
        let result = try await context.run([Statement(
            DomainSQL.versionedDelete(table: "engagements", extra: "row.status", condition: "row.status = 'draft'"),
            [params.string("id"), version])])[0]
        if let status = result.string(0, 2), status != "draft" {
            throw RPCError(
                .invalidState, "Invalid state: only draft engagements can be deleted; this one is \(status)",
                reason: "not_draft")
        }
        return try DomainSupport.versionedWrite(result, requestedVersion: version)
    }

    static let list = MethodDefinition(
        "engagement.list",
        summary: "Engagements, filtered and sorted, one page at a time. Archived ones only when asked for (by status or include_archived).",
        params: [
            .init("status", .enumeration(statuses), required: false, "only this status"),
            .init("service_id", .uuid, required: false, "only this service"),
            .init("customer_party_id", .uuid, required: false, "only this customer"),
            .init("owner_user_id", .uuid, required: false, "only this owner"),
            .init("starts_from", date, required: false, "start_date on or after"),
            .init("starts_until", date, required: false, "start_date on or before"),
            .init("ends_from", date, required: false, "end_date on or after"),
            .init("ends_until", date, required: false, "end_date on or before"),
            .init("q", .string(minLength: 1, maxLength: 200), required: false, "text in name or code"),
            .init("include_archived", .boolean, required: false, "also archived engagements (default false)"),
            .init("portfolio_id", .uuid, required: false, "only engagements of services in this portfolio"),
        ] + DomainSupport.listFields,
        result: .any(description: "{items: [engagement], next_cursor: string or null}"), access: .role(.viewer)
    ) { context, params throws(RPCError) in
        let page = try DomainSupport.page(params)
        return try await context.json(Statement(
            DomainSQL.list(
                table: "engagements", render: "engagement_json",
                filters: [
                    "($1::text IS NULL OR row.status = $1)",
                    "($1::text IS NOT NULL OR $10::boolean OR row.status <> 'archived')",
                    "($2::uuid IS NULL OR row.service_id = $2::uuid)",
                    "($3::uuid IS NULL OR row.customer_party_id = $3::uuid)",
                    "($4::uuid IS NULL OR row.owner_user_id = $4::uuid)",
                    "($5::date IS NULL OR row.start_date >= $5::date)",
                    "($6::date IS NULL OR row.start_date <= $6::date)",
                    "($7::date IS NULL OR row.end_date >= $7::date)",
                    "($8::date IS NULL OR row.end_date <= $8::date)",
                    "($9::text IS NULL OR row.name ILIKE $9 OR row.code ILIKE $9)",
                    DomainSupport.inPortfolio(serviceColumn: "row.service_id", parameter: 11),
                ],
                filterParameters: 11, page: page),
            [params.string("status"), params.string("service_id"), params.string("customer_party_id"),
             params.string("owner_user_id"), params.string("starts_from"), params.string("starts_until"),
             params.string("ends_from"), params.string("ends_until"), params.string("q").map(DomainSupport.containsPattern),
             params.bool("include_archived") ?? false, params.string("portfolio_id"), page.after?.key, page.after?.id,
             page.limit]))
    }
}

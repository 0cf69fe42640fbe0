import JSONRPC

/// Engagements: a service delivered to a customer over a period. Read by every role; written by members and
/// above. Status changes only through `engagement.transition` (see EngagementLifecycleMethods). The work:
/// `SQL/definitions/0120_api_engagements.sql`.
enum EngagementMethods {
    static let engagement = Schema.object([
        .init("id", .uuid, "the engagement"),
        .init("code", .string(), "short code, unique per organisation"),
        .init("name", .string(), "display name"),
        .init("status", .enumeration(statuses), "delivery status"),
        .init("status_changed_at", .nullable(.string(format: "date-time")), "when the status last changed"),
        .init("journey_stage", .enumeration(journeyStages), "customer-success journey stage"),
        .init("journey_stage_changed_at", .nullable(.string(format: "date-time")), "when the stage last changed"),
        .init("service", .object([
            .init("id", .uuid, "the service"), .init("code", .string(), "its code"), .init("name", .string(), "its name"),
        ]), "the service delivered"),
        .init("customer", .object([.init("id", .uuid, "the customer"), .init("name", .string(), "its name")]), "the customer"),
        .init("template_id", .nullable(.uuid), "its template"),
        .init("contract_id", .nullable(.uuid), "its contract"),
        .init("opportunity_id", .nullable(.uuid), "the won opportunity it delivers"),
        .init("parent_id", .nullable(.uuid), "its parent in the hierarchy"),
        .init("children_count", .integer(minimum: 0), "direct children"),
        .init("start_date", .nullable(date), "YYYY-MM-DD"),
        .init("end_date", .nullable(date), "YYYY-MM-DD"),
        .init("owner_user_id", .nullable(.uuid), "the user responsible"),
        .init("deliverers", .array(items: .object([
            .init("party_id", .uuid, "the delivery party"), .init("name", .string(), "its name"),
            .init("role", .enumeration(["lead", "subcontractor", "partner"]), "its role"),
        ])), "who delivers it, by role and name"),
        .init("version", .integer(minimum: 1), "row version, for optimistic concurrency"),
        .init("created_at", .string(format: "date-time"), "created"),
        .init("updated_at", .string(format: "date-time"), "last changed"),
    ])
    static let statuses = ["draft", "active", "on_hold", "completed", "archived"]
    /// Customer-success journey stages, beside the delivery status; lost is terminal.
    static let journeyStages = ["onboarding", "adoption", "monitoring", "expansion", "renewal", "lost"]
    static let date = Schema.string(minLength: 10, maxLength: 10, format: "date", pattern: "[0-9]{4}-[0-9]{2}-[0-9]{2}")

    static let all: [MethodDefinition] = [
        MethodDefinition("engagement.create",
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
                .init("opportunity_id", .uuid, required: false, "the won opportunity it delivers (one engagement each)"),
                DomainSupport.idempotencyField,
            ],
            result: engagement, access: .role(.member),
            function: "api.engagement_create"),

        BulkImport.method(
            "engagement.import",
            summary: "Many engagements at once (engagementctl import engagements FILE.csv), as drafts or walked through the lifecycle to their status, naming service, customer, contract and parent by code or reference: a report per row; an engagement whose code exists is skipped.",
            columns: [
                .init("code", ServiceMethods.code, "short code, unique per organisation"),
                .init("name", .string(minLength: 1, maxLength: 200), "display name"),
                .init("service_code", ServiceMethods.code, "the service delivered, by its code"),
                .init("customer_ref", .string(minLength: 1, maxLength: 100), "the customer, by its party's external_ref"),
                .init("contract_reference", .string(minLength: 1, maxLength: 100), required: false, "its contract, by reference"),
                .init("parent_code", ServiceMethods.code, required: false, "its parent engagement, by code (earlier in the file, or already there)"),
                .init("template", .string(minLength: 1, maxLength: 200), required: false, "its template, by name (one of the service's)"),
                .init("status", .enumeration(statuses), required: false,
                      "draft (the default), or the status it reaches through the lifecycle (active and beyond need a template)"),
                .init("start_date", date, required: false, "YYYY-MM-DD"),
                .init("end_date", date, required: false, "YYYY-MM-DD, not before start_date"),
            ],
            access: .role(.member), function: "api.engagement_import"),

        MethodDefinition("engagement.get", summary: "One engagement by id, whatever its status (archived included), now or as it was at as_of.",
            params: [.init("id", .uuid, "the engagement"), DomainSupport.asOfParam], result: DomainSupport.asOf(engagement), access: .role(.viewer),
            function: "api.engagement_get"),

        MethodDefinition("engagement.update",
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
            result: engagement, access: .role(.member),
            function: "api.engagement_update"),

        MethodDefinition("engagement.delete",
            summary: "Delete a draft engagement. Others are kept: complete and archive them with engagement.transition.",
            params: [.init("id", .uuid, "the engagement"), .init("version", .integer(minimum: 1), "the version you last read")],
            result: DomainSupport.deleted, access: .role(.member),
            function: "api.engagement_delete"),

        MethodDefinition("engagement.list",
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
            result: DomainSupport.page(of: engagement), access: .role(.viewer),
            function: "api.engagement_list"),
    ] + EngagementLifecycleMethods.all + EngagementHierarchyMethods.all + EngagementReportMethods.all
}

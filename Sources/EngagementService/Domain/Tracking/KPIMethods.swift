import JSONRPC

/// The KPIs of an engagement: copied from its template when it gets one, or defined here. Values arrive with
/// check-ins, by KPI name. The work: `SQL/definitions/0140_api_tracking.sql`.
enum KPIMethods {
    static let all: [MethodDefinition] = [define, list, remove, bulk]

    static let bulk = BulkImport.method(
        "kpi.import",
        summary: "Many KPIs at once (engagementctl import kpis FILE.csv), naming the engagement by code and the delivery party by external_ref: a report per row; a KPI whose engagement already has one of that name is skipped.",
        columns: [
            .init("engagement_code", ServiceMethods.code, "the engagement, by code"),
            .init("name", .string(minLength: 1, maxLength: 100), "unique per engagement (case-insensitive)"),
            .init("unit", .string(maxLength: 40), required: false, "e.g. %, hours, NPS"),
            .init("target", .number, "the value aimed at"),
            .init("direction", .enumeration(directions), required: false, "default higher_is_better"),
            .init("deliverer_ref", .string(minLength: 1, maxLength: 100), required: false, "the delivery party that owns it, by external_ref"),
        ],
        access: .role(.member), function: "api.kpi_import")

    static let directions = ["higher_is_better", "lower_is_better"]
    static let kpi = Schema.object([
        .init("id", .uuid, "the KPI"), .init("engagement_id", .uuid, "its engagement"),
        .init("name", .string(), "unique per engagement (case-insensitive)"), .init("unit", .string(), "e.g. %, hours, NPS"),
        .init("target", .number, "the value aimed at"), .init("direction", .enumeration(directions), "which way is good"),
        .init("deliverer_party_id", .nullable(.uuid), "the delivery party that owns it"),
        .init("source", .enumeration(["template", "added"]), "copied from the template, or added to the engagement"),
        .init("version", .integer(minimum: 1), "row version"),
        .init("created_at", .string(format: "date-time"), "created"), .init("updated_at", .string(format: "date-time"), "last changed"),
    ])

    static let define = MethodDefinition(
        "kpi.define",
        summary: "Add a KPI to an engagement, or change the one of that name (unit, target, direction, owner).",
        params: [
            .init("engagement_id", .uuid, "the engagement"),
            .init("name", .string(minLength: 1, maxLength: 100), "unique per engagement (case-insensitive)"),
            .init("unit", .string(maxLength: 40), required: false, "e.g. %, hours, NPS"),
            .init("target", .number, "the value aimed at"),
            .init("direction", .enumeration(directions), required: false, "default higher_is_better"),
            .init("deliverer_party_id", .nullable(.uuid), required: false, "the delivery party that owns it; null: attribution decides"),
        ],
        result: kpi, access: .role(.member),
        function: "api.kpi_define")

    static let list = MethodDefinition(
        "kpi.list", summary: "An engagement's KPIs, by name.",
        params: [.init("engagement_id", .uuid, "the engagement")],
        result: .array(items: kpi), access: .role(.viewer),
        function: "api.kpi_list")

    static let remove = MethodDefinition(
        "kpi.remove", summary: "Remove a KPI that has no recorded values (-32004 in_use otherwise).",
        params: [.init("id", .uuid, "the KPI")],
        result: DomainSupport.deleted, access: .role(.member),
        function: "api.kpi_remove")
}

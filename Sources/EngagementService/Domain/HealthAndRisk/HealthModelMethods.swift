import JSONRPC

/// Health models: weighted metrics, each normalised to 0–100, with bands and freshness decay. Written by
/// managers; every organisation has a default model ("Standard") that engagements use unless their template or
/// they themselves pick another. The work: `SQL/definitions/0150_api_health_models.sql`; the arithmetic:
/// `0018_health.sql` and `0019_health_now.sql`.
enum HealthModelMethods {
    static let all: [MethodDefinition] = [create, get, update, delete, list, assignToEngagement, assignToTemplate, setStageModel, stageModels]

    static let metrics = ["kpi_attainment", "kpi", "budget_variance", "capacity_utilisation", "checkin_freshness"]
        + ProductAdoptionMethods.measures
    static let metric = Schema.object([
        .init("metric", .enumeration(metrics), "what is measured"),
        .init("kpi", .string(minLength: 1, maxLength: 100), required: false, "the KPI's name (metric kpi only)"),
        .init("product", .string(minLength: 1, maxLength: 200), required: false,
              "an adoption metric's product (required for capability_usage; else the mean over products)"),
        .init("capability", .string(minLength: 1, maxLength: 200), required: false, "the capability of capability_usage"),
        .init("weight", .nonNegativeNumber, "relative weight; weights are normalised over the metrics with data"),
        .init("full_at", .number, required: false, "the value that scores 100 (default per metric, see docs)"),
        .init("zero_at", .number, required: false, "the value that scores 0"),
    ])
    static let settings: [Schema.Field] = [
        .init("grace_days", .integer(minimum: 0, maximum: 366), required: false, "active days after a month's end before decay starts (default 45)"),
        .init("decay_points_per_30_days", .numberInRange(minimum: 0, maximum: 100), required: false, "points lost per 30 overdue active days (default 10)"),
        .init("red_below", .numberInRange(minimum: 0, maximum: 100), required: false, "scores below are red (default 40)"),
        .init("amber_below", .numberInRange(minimum: 0, maximum: 100), required: false, "scores below are amber, others green (default 70)"),
    ]
    static let model = Schema.object([
        .init("id", .uuid, "the model"), .init("name", .string(), "unique per organisation"),
        .init("is_default", .boolean, "the organisation's default"),
        .init("metrics", .array(items: metric), "the weighted metrics"),
        .init("grace_days", .integer(minimum: 0), "active days after a month's end before decay starts"),
        .init("decay_points_per_30_days", .number, "points lost per 30 overdue active days"),
        .init("red_below", .number, "scores below are red"), .init("amber_below", .number, "scores below are amber, others green"),
        .init("version", .integer(minimum: 1), "row version"),
        .init("created_at", .string(format: "date-time"), "created"), .init("updated_at", .string(format: "date-time"), "last changed"),
    ])

    static let create = MethodDefinition(
        "health_model.create", summary: "Define a health model (use health_model.update with is_default to make it the default).",
        params: [
            .init("name", .string(minLength: 1, maxLength: 200), "unique per organisation"),
            .init("metrics", .array(items: metric, maxItems: 20), "the weighted metrics; weights must not sum to zero"),
        ] + settings + [DomainSupport.idempotencyField],
        result: model, access: .role(.manager),
        function: "api.health_model_create")

    static let get = MethodDefinition(
        "health_model.get", summary: "One health model by id.",
        params: [.init("id", .uuid, "the model")], result: model, access: .role(.viewer),
        function: "api.health_model_get")

    static let update = MethodDefinition(
        "health_model.update",
        summary: "Change a model (scores of the engagements using it are recomputed); is_default: true makes it the organisation's default.",
        params: [
            .init("id", .uuid, "the model"),
            .init("version", .integer(minimum: 1), "the version you last read"),
            .init("name", .string(minLength: 1, maxLength: 200), required: false, "new name"),
            .init("metrics", .array(items: metric, maxItems: 20), required: false, "replaces the metrics"),
            .init("is_default", .boolean, required: false, "true: the default from now on (false changes nothing)"),
        ] + settings,
        result: model, access: .role(.manager),
        function: "api.health_model_update")

    static let delete = MethodDefinition(
        "health_model.delete",
        summary: "Delete a model no template or engagement uses (-32004 in_use); the default cannot be deleted (-32007).",
        params: [.init("id", .uuid, "the model"), .init("version", .integer(minimum: 1), "the version you last read")],
        result: DomainSupport.deleted, access: .role(.manager),
        function: "api.health_model_delete")

    static let list = MethodDefinition(
        "health_model.list", summary: "Health models, one page at a time.",
        params: [.init("q", .string(minLength: 1, maxLength: 200), required: false, "text in the name")] + DomainSupport.listFields,
        result: DomainSupport.page(of: model), access: .role(.viewer),
        function: "api.health_model_list")

    static let assignToEngagement = MethodDefinition(
        "engagement.set_health_model",
        summary: "Score an engagement with this model (null: its template's, else the default); its months are recomputed.",
        params: [.init("id", .uuid, "the engagement"), .init("model_id", .nullable(.uuid), "the model, or null")],
        result: .object([
            .init("id", .uuid, "the engagement"), .init("health_model_id", .nullable(.uuid), "its own model"),
            .init("effective_model", .object([.init("id", .uuid, "the model"), .init("name", .string(), "its name")]),
                  "the model that scores it"),
        ]), access: .role(.member),
        function: "api.engagement_set_health_model")

    static let assignToTemplate = MethodDefinition(
        "template.set_health_model",
        summary: "Score the template's engagements (those without a model of their own) with this model; null: the default.",
        params: [.init("id", .uuid, "the template"), .init("model_id", .nullable(.uuid), "the model, or null")],
        result: .object([
            .init("id", .uuid, "the template"), .init("health_model_id", .nullable(.uuid), "its model"),
        ]), access: .role(.manager),
        function: "api.template_set_health_model")

    static let stageModel = Schema.object([
        .init("template_id", .nullable(.uuid), "the template whose engagements it applies to; null: the organisation's"),
        .init("journey_stage", .enumeration(EngagementMethods.journeyStages), "the stage"),
        .init("model_id", .nullable(.uuid), "the model; null: none chosen (the next in line applies)"),
        .init("model_name", .nullable(.string()), "its name"),
    ])

    static let setStageModel = MethodDefinition(
        "health_model.set_stage_model",
        summary: "Score engagements in a journey stage with this model, for the organisation or one template's engagements; null removes the choice. Affected scores are recomputed.",
        params: [
            .init("journey_stage", .enumeration(EngagementMethods.journeyStages), "the stage"),
            .init("model_id", .nullable(.uuid), "the model, or null"),
            .init("template_id", .uuid, required: false, "only this template's engagements (default: the organisation's choice)"),
        ],
        result: stageModel, access: .role(.manager), function: "api.health_model_set_stage_model")

    static let stageModels = MethodDefinition(
        "health_model.stage_models",
        summary: "The models chosen per journey stage: the organisation's, then per template. An engagement is scored with its own model, else its template's for its stage, its template's, the organisation's for its stage, the default.",
        params: [.init("template_id", .uuid, required: false, "only this template's")],
        result: .array(items: stageModel), access: .role(.viewer), function: "api.health_model_stage_models")
}

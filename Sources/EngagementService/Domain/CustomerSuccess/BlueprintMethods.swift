import JSONRPC

/// Success blueprints: reusable objectives with outcomes and initiatives for a product or use case, beside the
/// engagement templates. Applying one copies what an engagement lacks of its current version; `blueprint.gaps`
/// shows that difference. Blueprints are written by managers, applied by members. The work:
/// `SQL/definitions/0241_blueprints.sql`.
enum BlueprintMethods {
    static let key = Schema.Field("key", .uuid, required: false,
                                  "the item's stable key (kept from the version you read; new items get one)")
    static let mandatory = Schema.Field("mandatory", .boolean, required: false, "engagements must keep it (default false)")
    static let outcome = Schema.object([
        key, .init("title", .string(minLength: 1, maxLength: 300), "what is measured"),
        .init("target", .number, "the value that achieves it"),
        .init("unit", .string(maxLength: 40), required: false, "its unit"),
        .init("direction", .enumeration(SuccessPlanMethods.directions), required: false, "reached from below (default) or above"),
        .init("kpi", .string(minLength: 1, maxLength: 100), required: false,
              "bind to the engagement's KPI of this name (added with this target when missing)"),
        mandatory,
    ])
    static let initiative = Schema.object([
        key, .init("title", .string(minLength: 1, maxLength: 300), "what is done"),
        .init("type", SuccessPlanMethods.initiativeType, "one of the organisation's initiative types"),
        .init("due_offset_days", .integer(minimum: 0, maximum: 3650), required: false,
              "due this many days after the engagement's start (kept within its end)"),
        mandatory,
    ])
    static let objective = Schema.object([
        key, .init("title", .string(minLength: 1, maxLength: 300), "what the customer wants to achieve"),
        .init("description", .string(maxLength: 4000), required: false, "details"),
        .init("target_offset_days", .integer(minimum: 0, maximum: 3650), required: false,
              "its target date is this many days after the engagement's start (kept within its end)"),
        mandatory,
        .init("outcomes", .array(items: outcome, maxItems: 50), required: false, "how it is measured"),
        .init("initiatives", .array(items: initiative, maxItems: 50), required: false, "the work towards it"),
    ])
    static let blueprint = Schema.object([
        .init("id", .uuid, "the blueprint"), .init("name", .string(), "unique per organisation"),
        .init("description", .string(), "what it is for"), .init("product_id", .nullable(.uuid), "the product it is for"),
        .init("objectives", .array(items: objective), "its items, every one with its key"),
        .init("archived", .boolean, "archived blueprints cannot be applied"),
        .init("applied_to", .integer(minimum: 0), "engagements it was applied to"),
    ] + DomainSupport.rowFields)
    static let missingItem = Schema.object([
        .init("kind", .enumeration(["objective", "outcome", "initiative"]), "what it is"),
        .init("key", .uuid, "its key in the blueprint"), .init("title", .string(), "its title"),
        .init("mandatory", .boolean, "engagements must keep it"),
        .init("objective_key", .uuid, "the objective it belongs to (its own key for an objective)"),
    ])
    static let target: [Schema.Field] = [
        .init("blueprint_id", .uuid, "the blueprint"), .init("engagement_id", .uuid, "the engagement"),
    ]

    static let all: [MethodDefinition] = [
        MethodDefinition("blueprint.create", summary: "Define a success blueprint: objectives with their outcomes and initiatives.",
            params: [
                .init("name", .string(minLength: 1, maxLength: 200), "unique per organisation (case-insensitive)"),
                .init("description", .string(maxLength: 4000), required: false, "what it is for"),
                .init("product_id", .uuid, required: false, "the product it is for"),
                .init("objectives", .array(items: objective, maxItems: 50), "its objectives (at least one)"),
                DomainSupport.idempotencyField,
            ],
            result: blueprint, access: .role(.manager), function: "api.blueprint_create"),

        MethodDefinition("blueprint.get", summary: "One blueprint, its items with their keys.",
            params: [.init("id", .uuid, "the blueprint")], result: blueprint, access: .role(.viewer), function: "api.blueprint_get"),

        MethodDefinition("blueprint.update",
            summary: "Change a blueprint (a new version; engagements keep their copies, blueprint.gaps compares); archived: true archives it.",
            params: [
                .init("id", .uuid, "the blueprint"),
                .init("version", .integer(minimum: 1), "the version you last read"),
                .init("name", .string(minLength: 1, maxLength: 200), required: false, "new name"),
                .init("description", .string(maxLength: 4000), required: false, "new description"),
                .init("product_id", .nullable(.uuid), required: false, "new product; null clears"),
                .init("objectives", .array(items: objective, maxItems: 50), required: false,
                      "replaces the items; keep an item's key to keep its identity"),
                .init("archived", .boolean, required: false, "archive (true) or restore (false)"),
            ],
            result: blueprint, access: .role(.manager), function: "api.blueprint_update"),

        MethodDefinition("blueprint.list", summary: "Blueprints, one page at a time (archived ones only when asked).",
            params: [
                .init("q", .string(minLength: 1, maxLength: 200), required: false, "text in the name"),
                .init("product_id", .uuid, required: false, "only this product's"),
                .init("include_archived", .boolean, required: false, "also archived blueprints (default false)"),
            ] + DomainSupport.listFields,
            result: DomainSupport.page(of: blueprint), access: .role(.viewer), function: "api.blueprint_list"),

        MethodDefinition("blueprint.gaps",
            summary: "What an engagement lacks against the blueprint's current version, and the version it last got.",
            params: target,
            result: .object([
                .init("engagement_id", .uuid, "the engagement"), .init("blueprint_id", .uuid, "the blueprint"),
                .init("current_version", .integer(minimum: 1), "the blueprint's version now"),
                .init("applied_version", .nullable(.integer(minimum: 1)), "the version last applied; null: never"),
                .init("applied_at", .nullable(.string(format: "date-time")), "when"),
                .init("missing", .array(items: missingItem), "items without a copy in the engagement, in the blueprint's order"),
            ]),
            access: .role(.viewer), function: "api.blueprint_gaps"),

        MethodDefinition("blueprint.apply",
            summary: "Copy what the engagement lacks of the blueprint's current version as its own items (first time: everything).",
            params: target + [
                .init("mandatory_only", .boolean, required: false, "only mandatory items and the objectives holding them"),
            ],
            result: .object([
                .init("engagement_id", .uuid, "the engagement"), .init("blueprint_id", .uuid, "the blueprint"),
                .init("blueprint_version", .integer(minimum: 1), "the version applied"),
                .init("added", .object([
                    .init("objectives", .integer(minimum: 0), "objectives added"),
                    .init("outcomes", .integer(minimum: 0), "outcomes added"),
                    .init("initiatives", .integer(minimum: 0), "initiatives added"),
                ]), "what this call copied"),
                .init("missing", .array(items: missingItem), "what the engagement still lacks (skipped with mandatory_only)"),
                .init("objectives", .array(items: SuccessPlanMethods.objective), "the engagement's objectives from this blueprint"),
            ]),
            access: .role(.member), function: "api.blueprint_apply"),
    ]
}

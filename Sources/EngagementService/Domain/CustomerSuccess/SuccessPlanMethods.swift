import JSONRPC

/// Success plans: an engagement's objectives, the outcomes that measure them (bound to a KPI, their actual comes
/// from check-ins) and the initiatives that work towards them, of a per-organisation list of types. Read by every
/// role, written by members and above; mandatory items (from a blueprint) are neither deleted nor cancelled. The
/// work: `SQL/definitions/0240_success_plans.sql` (objectives) and `0242_outcomes_and_initiatives.sql`.
enum SuccessPlanMethods {
    static let objectiveStatuses = ["not_started", "on_track", "at_risk", "achieved", "missed", "cancelled"]
    static let initiativeStages = ["planned", "in_progress", "done", "cancelled"]
    static let directions = ["higher_is_better", "lower_is_better"]
    static let initiativeType = TouchpointMethods.kind
    static let date = EngagementMethods.date
    static let provenance: [Schema.Field] = [
        .init("mandatory", .boolean, "from a blueprint that requires it: cannot be deleted or cancelled"),
        .init("blueprint_key", .nullable(.uuid), "the blueprint item it was copied from"),
    ]

    static let outcomeParams: [Schema.Field] = [
        .init("title", .string(minLength: 1, maxLength: 300), "what is measured"),
        .init("target", .number, "the value that achieves it"),
        .init("unit", .string(maxLength: 40), required: false, "its unit"),
        .init("direction", .enumeration(directions), required: false, "reached from below (default) or above"),
        .init("kpi_id", .uuid, required: false, "one of the engagement's KPIs: its latest checked-in value is the actual"),
        .init("actual", .number, required: false, "the measured value, for an outcome not bound to a KPI"),
    ]
    static let initiativeParams: [Schema.Field] = [
        .init("title", .string(minLength: 1, maxLength: 300), "what is done"),
        .init("type", initiativeType, "one of the organisation's initiative types (initiative.types)"),
        .init("stage", .enumeration(initiativeStages), required: false, "where it stands (default planned)"),
        .init("owner_user_id", .uuid, required: false, "who drives it"),
        .init("due_date", date, required: false, "by when, within the engagement's dates"),
    ]

    static let outcome = Schema.object([
        .init("id", .uuid, "the outcome"), .init("objective_id", .uuid, "its objective"),
        .init("engagement_id", .uuid, "its engagement"), .init("title", .string(), "what is measured"),
        .init("unit", .string(), "its unit"), .init("target", .number, "the value that achieves it"),
        .init("direction", .enumeration(directions), "reached from below or above"),
        .init("kpi_id", .nullable(.uuid), "the KPI it is bound to"),
        .init("actual", .nullable(.number), "the KPI's latest checked-in value, or the recorded one"),
        .init("measured_period", .nullable(date), "the check-in month of a KPI's value"),
        .init("status", .enumeration(["no_data", "achieved", "not_achieved"]), "derived from actual, target and direction"),
    ] + provenance + DomainSupport.rowFields)
    static let initiative = Schema.object([
        .init("id", .uuid, "the initiative"), .init("objective_id", .uuid, "its objective"),
        .init("engagement_id", .uuid, "its engagement"), .init("title", .string(), "what is done"),
        .init("type", .string(), "one of the organisation's types"), .init("stage", .enumeration(initiativeStages), "where it stands"),
        .init("owner_user_id", .nullable(.uuid), "who drives it"), .init("due_date", .nullable(date), "by when"),
        .init("overdue", .boolean, "planned or in progress and past its due date"),
    ] + provenance + DomainSupport.rowFields)
    static let objective = Schema.object([
        .init("id", .uuid, "the objective"), .init("engagement_id", .uuid, "its engagement"),
        .init("title", .string(), "what the customer wants to achieve"), .init("description", .string(), "details"),
        .init("status", .enumeration(objectiveStatuses), "where it stands"),
        .init("target_date", .nullable(date), "by when"), .init("owner_user_id", .nullable(.uuid), "who owns it"),
        .init("mandatory", .boolean, "from a blueprint that requires it: cannot be deleted or cancelled"),
        .init("blueprint_id", .nullable(.uuid), "the blueprint it was copied from"),
        .init("blueprint_key", .nullable(.uuid), "the blueprint item it was copied from"),
        .init("outcomes", .array(items: outcome), "how it is measured"),
        .init("initiatives", .array(items: initiative), "the work towards it"),
    ] + DomainSupport.rowFields)
    static let versioned = DomainSupport.versioned("the item")

    static let all: [MethodDefinition] = [
        MethodDefinition("objective.create",
            summary: "Add an objective to an engagement, with its outcomes and initiatives (all or nothing).",
            params: [
                .init("engagement_id", .uuid, "the engagement"),
                .init("title", .string(minLength: 1, maxLength: 300), "what the customer wants to achieve"),
                .init("description", .string(maxLength: 4000), required: false, "details"),
                .init("status", .enumeration(objectiveStatuses), required: false, "where it stands (default not_started)"),
                .init("target_date", date, required: false, "by when, within the engagement's dates"),
                .init("owner_user_id", .uuid, required: false, "who owns it"),
                .init("outcomes", .array(items: .object(outcomeParams), maxItems: 50), required: false, "how it is measured"),
                .init("initiatives", .array(items: .object(initiativeParams), maxItems: 50), required: false, "the work towards it"),
                DomainSupport.idempotencyField,
            ],
            result: objective, access: .role(.member), function: "api.objective_create"),

        MethodDefinition("objective.get", summary: "One objective with its outcomes and initiatives.",
            params: [.init("id", .uuid, "the objective")], result: objective, access: .role(.viewer), function: "api.objective_get"),

        MethodDefinition("objective.update",
            summary: "Change an objective's title, description, status, target date or owner; -32007 mandatory when cancelling a mandatory one.",
            params: versioned + [
                .init("title", .string(minLength: 1, maxLength: 300), required: false, "new title"),
                .init("description", .string(maxLength: 4000), required: false, "new description"),
                .init("status", .enumeration(objectiveStatuses), required: false, "new status"),
                .init("target_date", .nullable(date), required: false, "new target date; null clears"),
                .init("owner_user_id", .nullable(.uuid), required: false, "new owner; null clears"),
            ],
            result: objective, access: .role(.member), function: "api.objective_update"),

        MethodDefinition("objective.delete",
            summary: "Delete an objective with its outcomes and initiatives; -32007 mandatory for a mandatory one.",
            params: versioned, result: DomainSupport.deleted, access: .role(.member), function: "api.objective_delete"),

        MethodDefinition("objective.list",
            summary: "Objectives of the organisation or one engagement, by status (e.g. at_risk), blueprint or owner.",
            params: [
                .init("engagement_id", .uuid, required: false, "only this engagement's"),
                .init("status", .enumeration(objectiveStatuses), required: false, "only this status"),
                .init("blueprint_id", .uuid, required: false, "only those copied from this blueprint"),
                .init("owner_user_id", .uuid, required: false, "only this owner's"),
            ] + DomainSupport.listFields,
            result: DomainSupport.page(of: objective), access: .role(.viewer), function: "api.objective_list"),

        MethodDefinition("outcome.add", summary: "Add an outcome to an objective (a KPI of another engagement: -32602 kpi_id).",
            params: [.init("objective_id", .uuid, "the objective")] + outcomeParams + [DomainSupport.idempotencyField],
            result: outcome, access: .role(.member), function: "api.outcome_add"),

        MethodDefinition("outcome.update",
            summary: "Change an outcome; kpi_id null unbinds it; actual only for an outcome not bound to a KPI.",
            params: versioned + [
                .init("title", .string(minLength: 1, maxLength: 300), required: false, "new title"),
                .init("target", .number, required: false, "new target"),
                .init("unit", .string(maxLength: 40), required: false, "new unit"),
                .init("direction", .enumeration(directions), required: false, "new direction"),
                .init("kpi_id", .nullable(.uuid), required: false, "bind to this KPI of the engagement; null unbinds"),
                .init("actual", .nullable(.number), required: false, "the measured value; null clears"),
            ],
            result: outcome, access: .role(.member), function: "api.outcome_update"),

        MethodDefinition("outcome.delete", summary: "Delete an outcome; -32007 mandatory for a mandatory one.",
            params: versioned, result: DomainSupport.deleted, access: .role(.member), function: "api.outcome_delete"),

        MethodDefinition("initiative.add", summary: "Add an initiative to an objective.",
            params: [.init("objective_id", .uuid, "the objective")] + initiativeParams + [DomainSupport.idempotencyField],
            result: initiative, access: .role(.member), function: "api.initiative_add"),

        MethodDefinition("initiative.update",
            summary: "Move an initiative (planned, in_progress, done, cancelled) or change it; -32007 mandatory when cancelling a mandatory one.",
            params: versioned + [
                .init("title", .string(minLength: 1, maxLength: 300), required: false, "new title"),
                .init("type", initiativeType, required: false, "new type"),
                .init("stage", .enumeration(initiativeStages), required: false, "new stage"),
                .init("owner_user_id", .nullable(.uuid), required: false, "new owner; null clears"),
                .init("due_date", .nullable(date), required: false, "new due date; null clears"),
            ],
            result: initiative, access: .role(.member), function: "api.initiative_update"),

        MethodDefinition("initiative.delete", summary: "Delete an initiative; -32007 mandatory for a mandatory one.",
            params: versioned, result: DomainSupport.deleted, access: .role(.member), function: "api.initiative_delete"),

        MethodDefinition("initiative.list",
            summary: "Initiatives of the organisation or one engagement, by type, stage, owner, or overdue.",
            params: [
                .init("engagement_id", .uuid, required: false, "only this engagement's"),
                .init("type", initiativeType, required: false, "only this type"),
                .init("stage", .enumeration(initiativeStages), required: false, "only this stage"),
                .init("owner_user_id", .uuid, required: false, "only this owner's"),
                .init("overdue", .boolean, required: false, "only planned or in progress and past due"),
            ] + DomainSupport.listFields,
            result: DomainSupport.page(of: initiative), access: .role(.viewer), function: "api.initiative_list"),

        MethodDefinition("initiative.types", summary: "The organisation's initiative types.",
            result: .array(items: .string()), access: .role(.viewer), function: "api.initiative_types"),

        MethodDefinition("initiative.add_type", summary: "Add an initiative type (lower-case letters, digits, underscores).",
            params: [.init("name", initiativeType, "the new type")],
            result: .array(items: .string()), access: .role(.manager), function: "api.initiative_add_type"),
    ]
}

import JSONRPC

/// Automated triggers: per-organisation rules (when an event happens to an engagement and a condition holds,
/// perform actions) and their firings, the transactional outbox the server's worker empties. Rules are written by
/// managers; firings are read by every role. The work: `SQL/definitions/0320_trigger_rules.sql` (matching and the
/// sweep) and `0321_trigger_worker.sql` (the worker and these methods).
enum TriggerRuleMethods {
    static let events = ["status_changed", "stage_changed", "engagement_created", "health_band", "risk_raised",
                         "contract_ending", "touchpoint_missed", "action_item_overdue", "adoption_below"]
    static let actionNames = ["raise_risk", "start_playbook", "schedule_touchpoint", "create_reminder", "set_stage", "propose_renewal", "notify"]
    static let eventParams = Schema.object([
        .init("to", .string(minLength: 1, maxLength: 40), required: false, "status_changed, stage_changed: only to this status or stage"),
        .init("service_id", .uuid, required: false, "engagement_created: only of this service"),
        .init("template_id", .uuid, required: false, "engagement_created: only from this template"),
        .init("band", .enumeration(["red", "amber", "green", "unknown"]), required: false, "health_band: when the band becomes this"),
        .init("severity", .enumeration(["low", "medium", "high", "critical"]), required: false, "risk_raised: at least this severity"),
        .init("days", .integer(minimum: 0, maximum: 3650), required: false, "contract_ending: the contract ends within this many days"),
        .init("threshold", .numberInRange(minimum: 0, maximum: 100), required: false, "adoption_below: adoption score below this"),
        .init("product", .string(minLength: 1, maxLength: 200), required: false, "adoption_below: of this product (default any)"),
    ])
    static let condition = Schema.object([
        .init("service_id", .uuid, required: false, "the engagement's service"),
        .init("template_id", .uuid, required: false, "the engagement's template"),
        .init("stages", .array(items: .enumeration(EngagementMethods.journeyStages), maxItems: 6), required: false, "one of these journey stages"),
        .init("bands", .array(items: .enumeration(["red", "amber", "green", "unknown"]), maxItems: 4), required: false, "current health band one of these"),
        .init("min_contract_value", .number, required: false, "the contract's total value at least this"),
        .init("kpi", .object([
            .init("name", .string(minLength: 1, maxLength: 100), "the KPI"),
            .init("comparison", .enumeration(RiskRuleMethods.comparisons), "how its latest value compares"),
            .init("threshold", .number, "with this"),
        ]), required: false, "the KPI's latest checked-in value"),
    ])
    static let action = Schema.object([
        .init("action", .enumeration(actionNames), "what to do"),
        .init("title", .string(minLength: 1, maxLength: 200), required: false, "raise_risk, schedule_touchpoint, create_reminder"),
        .init("probability", .enumeration(RiskMethods.probabilities), required: false, "raise_risk (default high)"),
        .init("impact", .enumeration(RiskMethods.impacts), required: false, "raise_risk (default medium)"),
        .init("category", RiskMethods.category, required: false, "raise_risk (default delivery)"),
        .init("playbook_id", .uuid, required: false, "start_playbook"),
        .init("kind", TouchpointMethods.kind, required: false, "schedule_touchpoint: a touchpoint kind"),
        .init("in_days", .integer(minimum: 0, maximum: 3650), required: false, "schedule_touchpoint (default 7), create_reminder (default 0)"),
        .init("recipient_user_id", .uuid, required: false, "create_reminder (default: the rule's author)"),
        .init("stage", .enumeration(EngagementMethods.journeyStages), required: false, "set_stage"),
        .init("message", .string(minLength: 1, maxLength: 400), required: false, "notify: a timeline entry subscribers receive"),
    ])
    static let rule = Schema.object([
        .init("id", .uuid, "the rule"), .init("name", .string(), "unique per organisation"),
        .init("event", .enumeration(events), "when"), .init("event_params", .any(description: "the event's params"), "narrowing the event"),
        .init("condition", .any(description: "the condition's fields"), "what must hold for the engagement"),
        .init("actions", .array(items: .any(description: "an action")), "what to do, in order"),
        .init("enabled", .boolean, "evaluated"),
    ] + DomainSupport.rowFields)
    static let firing = Schema.object([
        .init("id", .uuid, "the firing"), .init("rule_id", .uuid, "its rule"), .init("engagement_id", .uuid, "the engagement"),
        .init("event", .enumeration(events), "what happened"), .init("event_key", .string(), "the event's identity (once per rule and engagement)"),
        .init("event_details", .any(description: "facts of the event"), "details"),
        .init("status", .enumeration(["pending", "done"]), "pending until its actions ran"),
        .init("attempts", .integer(minimum: 0), "tries so far"),
        .init("next_attempt_at", .string(format: "date-time"), "when a pending firing is tried next"),
        .init("last_error", .nullable(.string()), "why the last try failed (it is retried)"),
        .init("results", .array(items: .any(description: "{action, outcome: done | skipped, id or reason}")), "per action"),
        .init("created_at", .string(format: "date-time"), "when the event was recorded"),
        .init("done_at", .nullable(.string(format: "date-time")), "when the actions ran"),
    ])
    static let definition: [Schema.Field] = [
        .init("event_params", eventParams, required: false, "narrow the event (contract_ending needs days, adoption_below threshold)"),
        .init("condition", condition, required: false, "what must also hold for the engagement"),
        .init("enabled", .boolean, required: false, "evaluated (default true)"),
    ]

    static let all: [MethodDefinition] = [
        MethodDefinition("trigger_rule.create", summary: "Define an automated trigger: when an event happens and a condition holds, perform actions.",
            params: [
                .init("name", .string(minLength: 1, maxLength: 200), "unique per organisation"),
                .init("event", .enumeration(events), "when"),
                .init("actions", .array(items: action, maxItems: 10), "what to do, in order (at least one)"),
            ] + definition + [DomainSupport.idempotencyField],
            result: rule, access: .role(.manager), function: "api.trigger_rule_create"),

        MethodDefinition("trigger_rule.get", summary: "One trigger rule.",
            params: [.init("id", .uuid, "the rule")], result: rule, access: .role(.viewer), function: "api.trigger_rule_get"),

        MethodDefinition("trigger_rule.update", summary: "Change a trigger rule (a new event clears its params unless given).",
            params: DomainSupport.versioned("the rule") + [
                .init("name", .string(minLength: 1, maxLength: 200), required: false, "new name"),
                .init("event", .enumeration(events), required: false, "new event"),
                .init("actions", .array(items: action, maxItems: 10), required: false, "new actions"),
            ] + definition,
            result: rule, access: .role(.manager), function: "api.trigger_rule_update"),

        MethodDefinition("trigger_rule.delete", summary: "Delete a trigger rule and its firings.",
            params: DomainSupport.versioned("the rule"),
            result: DomainSupport.deleted, access: .role(.manager), function: "api.trigger_rule_delete"),

        MethodDefinition("trigger_rule.list", summary: "Trigger rules, one page at a time.",
            params: [.init("event", .enumeration(events), required: false, "only this event's")] + DomainSupport.listFields,
            result: DomainSupport.page(of: rule), access: .role(.viewer), function: "api.trigger_rule_list"),

        MethodDefinition("trigger.firings", summary: "Firings (the outbox): by rule, engagement or status, newest first unless asked.",
            params: [
                .init("rule_id", .uuid, required: false, "only this rule's"), .init("engagement_id", .uuid, required: false, "only this engagement's"),
                .init("status", .enumeration(["pending", "done"]), required: false, "only this status"),
                .init("order", .enumeration(["asc", "desc"]), required: false, "by creation (default asc)"),
                .init("limit", .integer(minimum: 1, maximum: 200), required: false, "page size (default 50)"),
                .init("cursor", .string(minLength: 1, maxLength: 1000), required: false, "next_cursor of the previous page"),
            ],
            result: DomainSupport.page(of: firing), access: .role(.viewer), function: "api.trigger_firings"),
    ]
}

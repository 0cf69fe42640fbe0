import JSONRPC

/// The timeline: what happened to an engagement, in order, written by the database as changes commit (psql
/// writes too); searched and paged by a vetted definer function that filters by the caller's organisation
/// itself, so the text index serves under row-level security. Read by every role; notes by members. The work:
/// `SQL/definitions/0300_timeline.sql`.
enum TimelineMethods {
    /// Every entry type, as `app.timeline_entry_types()` lists them (a test keeps the two equal).
    static let entryTypes = [
        "engagement_created", "status_changed", "stage_changed", "hierarchy_moved", "contract_changed", "sla_changed",
        "check_in", "check_in_amended", "health_band", "risk_raised", "risk_updated", "risk_resolved", "touchpoint",
        "touchpoint_held", "action_item", "action_item_done", "objective", "objective_status", "initiative",
        "initiative_stage", "playbook_started", "playbook_finished", "task_done", "blueprint_applied", "trigger_fired", "reminder_due", "renewal_due", "note",
    ]
    static let timestamp = HealthMethods.timestamp
    static let entry = Schema.object([
        .init("id", .string(), "the entry (a number, as a string)"), .init("engagement_id", .uuid, "its engagement"),
        .init("occurred_at", .string(format: "date-time"), "when the change committed"),
        .init("type", .enumeration(entryTypes), "what happened"), .init("title", .string(), "one line"),
        .init("body", .string(), "notes, descriptions, reasons"), .init("actor_user_id", .nullable(.uuid), "who (null: the system or psql)"),
        .init("entity", .nullable(.string()), "the kind of row it is about"), .init("entity_id", .nullable(.uuid), "that row"),
        .init("details", .any(description: "type-specific facts, e.g. a health band's period and score"), "details"),
    ])

    static let all: [MethodDefinition] = [
        MethodDefinition("timeline.list",
            summary: "An engagement's (or its subtree's, or the organisation's) timeline: filter by type, time and actor, search text with q, page either way.",
            params: [
                .init("engagement_id", .uuid, required: false, "one engagement (default: the whole organisation)"),
                .init("subtree", .boolean, required: false, "with engagement_id: its whole subtree"),
                .init("types", .array(items: .enumeration(entryTypes), maxItems: 30), required: false, "only these entry types"),
                .init("from", timestamp, required: false, "at or after"), .init("to", timestamp, required: false, "before"),
                .init("actor_user_id", .uuid, required: false, "only this user's changes"),
                .init("q", .string(minLength: 1, maxLength: 200), required: false,
                      "full-text search of titles and bodies (English stemming, or the words as typed; web-search syntax)"),
                .init("order", .enumeration(["desc", "asc"]), required: false, "newest first (default) or oldest first"),
                .init("limit", .integer(minimum: 1, maximum: 200), required: false, "page size (default 50)"),
                .init("cursor", .string(minLength: 1, maxLength: 200), required: false, "next_cursor of the previous page"),
            ],
            result: DomainSupport.page(of: entry), access: .role(.viewer), function: "api.timeline_list"),

        MethodDefinition("timeline.note", summary: "Add a free-form note to an engagement's timeline.",
            params: [
                .init("engagement_id", .uuid, "the engagement"),
                .init("title", .string(minLength: 1, maxLength: 500), "one line"),
                .init("body", .string(maxLength: 20000), required: false, "the note"),
                DomainSupport.idempotencyField,
            ],
            result: entry, access: .role(.member), function: "api.timeline_note"),
    ]
}

import JSONRPC

/// Touchpoints: scheduled and held interactions with the customer, of a per-organisation list of kinds, with
/// attendees, notes, follow-ups and action items. Read by every role, written by members and above. The work:
/// `SQL/definitions/0210_touchpoints.sql`.
enum TouchpointMethods {
    static let timestamp = HealthMethods.timestamp
    static let kind = Schema.string(minLength: 1, maxLength: 40, pattern: "[a-z][a-z0-9_]{0,39}")
    static let attendee = Schema.object([
        .init("name", .string(minLength: 1, maxLength: 200), "who"),
        .init("email", .string(maxLength: 320), required: false, "their email"),
        .init("user_id", .uuid, required: false, "when it is one of the organisation's users"),
    ])
    static let actionItemParams: [Schema.Field] = [
        .init("title", .string(minLength: 1, maxLength: 500), "what is to be done"),
        .init("owner_user_id", .uuid, required: false, "who does it"),
        .init("due_date", EngagementMethods.date, required: false, "by when, YYYY-MM-DD"),
    ]

    static let actionItem = Schema.object([
        .init("id", .uuid, "the action item"), .init("touchpoint_id", .uuid, "its touchpoint"),
        .init("engagement_id", .uuid, "the touchpoint's engagement"), .init("title", .string(), "what is to be done"),
        .init("owner_user_id", .nullable(.uuid), "who does it"), .init("due_date", .nullable(EngagementMethods.date), "by when"),
        .init("done", .boolean, "done"), .init("done_at", .nullable(.string(format: "date-time")), "when it was done"),
        .init("overdue", .boolean, "open and past its due date"),
        .init("version", .integer(minimum: 1), "row version"),
        .init("created_at", .string(format: "date-time"), "created"), .init("updated_at", .string(format: "date-time"), "last changed"),
    ])
    static let touchpoint = Schema.object([
        .init("id", .uuid, "the touchpoint"), .init("engagement_id", .uuid, "its engagement"),
        .init("kind", .string(), "one of the organisation's kinds"), .init("title", .string(), "title"),
        .init("scheduled_at", .nullable(.string(format: "date-time")), "when it is planned"),
        .init("held_at", .nullable(.string(format: "date-time")), "when it took place"),
        .init("missed", .boolean, "scheduled, not held, and past"),
        .init("attendees", .array(items: attendee), "who took part"), .init("notes", .string(), "notes"),
        .init("follow_up_of", .nullable(.uuid), "the touchpoint it follows up"),
        .init("follow_ups", .array(items: .uuid), "the touchpoints that follow it up"),
        .init("action_items", .array(items: actionItem), "its action items"),
        .init("version", .integer(minimum: 1), "row version"),
        .init("created_at", .string(format: "date-time"), "created"), .init("updated_at", .string(format: "date-time"), "last changed"),
    ])

    static let all: [MethodDefinition] = [
        MethodDefinition("touchpoint.create",
            summary: "Record a scheduled or held touchpoint of an engagement, with its action items (dates within the engagement's).",
            params: [
                .init("engagement_id", .uuid, "the engagement"),
                .init("kind", kind, "one of the organisation's kinds (touchpoint.kinds)"),
                .init("title", .string(minLength: 1, maxLength: 200), "title"),
                .init("scheduled_at", timestamp, required: false, "when it is planned (this or held_at is required)"),
                .init("held_at", timestamp, required: false, "when it took place"),
                .init("attendees", .array(items: attendee, maxItems: 100), required: false, "who took part"),
                .init("notes", .string(maxLength: 20000), required: false, "notes"),
                .init("follow_up_of", .uuid, required: false, "an earlier touchpoint of the engagement it follows up"),
                .init("action_items", .array(items: .object(actionItemParams), maxItems: 100), required: false, "what was agreed"),
                DomainSupport.idempotencyField,
            ],
            result: touchpoint, access: .role(.member), function: "api.touchpoint_create"),

        MethodDefinition("touchpoint.get", summary: "One touchpoint with its action items and follow-ups.",
            params: [.init("id", .uuid, "the touchpoint")], result: touchpoint, access: .role(.viewer),
            function: "api.touchpoint_get"),

        MethodDefinition("touchpoint.update",
            summary: "Change a touchpoint (held_at: it took place); send the version you read. Times and follow_up_of: null clears.",
            params: [
                .init("id", .uuid, "the touchpoint"),
                .init("version", .integer(minimum: 1), "the version you last read"),
                .init("kind", kind, required: false, "new kind"),
                .init("title", .string(minLength: 1, maxLength: 200), required: false, "new title"),
                .init("scheduled_at", .nullable(timestamp), required: false, "new planned time"),
                .init("held_at", .nullable(timestamp), required: false, "when it took place"),
                .init("attendees", .array(items: attendee, maxItems: 100), required: false, "replaces the attendees"),
                .init("notes", .string(maxLength: 20000), required: false, "replaces the notes"),
                .init("follow_up_of", .nullable(.uuid), required: false, "the touchpoint it follows up"),
            ],
            result: touchpoint, access: .role(.member), function: "api.touchpoint_update"),

        MethodDefinition("touchpoint.delete", summary: "Delete a touchpoint with its action items; its follow-ups stay.",
            params: [.init("id", .uuid, "the touchpoint"), .init("version", .integer(minimum: 1), "the version you last read")],
            result: DomainSupport.deleted, access: .role(.member), function: "api.touchpoint_delete"),

        MethodDefinition("touchpoint.list",
            summary: "Touchpoints, filtered (missed: scheduled, not held, past), one page at a time.",
            params: [
                .init("engagement_id", .uuid, required: false, "only this engagement's"),
                .init("kind", kind, required: false, "only this kind"),
                .init("from", timestamp, required: false, "held or scheduled from"),
                .init("to", timestamp, required: false, "held or scheduled until"),
                .init("missed", .boolean, required: false, "only missed ones"),
                .init("sort", .enumeration(["created_at", "name"]), required: false, "sort key (default created_at; name is the title)"),
            ] + DomainSupport.listFields.filter { $0.name != "sort" },
            result: DomainSupport.page(of: touchpoint), access: .role(.viewer), function: "api.touchpoint_list"),

        MethodDefinition("touchpoint.kinds", summary: "The organisation's touchpoint kinds.",
            result: .array(items: .string()), access: .role(.viewer), function: "api.touchpoint_kinds"),

        MethodDefinition("touchpoint.add_kind", summary: "Add a touchpoint kind to the organisation's list.",
            params: [.init("name", kind, "lower-case letters, digits and _")],
            result: .array(items: .string()), access: .role(.manager), function: "api.touchpoint_add_kind"),

        MethodDefinition("action_item.add", summary: "Add an action item to a touchpoint.",
            params: [.init("touchpoint_id", .uuid, "the touchpoint")] + actionItemParams + [DomainSupport.idempotencyField],
            result: actionItem, access: .role(.member), function: "api.action_item_add"),

        MethodDefinition("action_item.update",
            summary: "Change an action item, or mark it done (done: true) or open again; owner and due date: null clears.",
            params: [
                .init("id", .uuid, "the action item"),
                .init("version", .integer(minimum: 1), "the version you last read"),
                .init("title", .string(minLength: 1, maxLength: 500), required: false, "new title"),
                .init("owner_user_id", .nullable(.uuid), required: false, "new owner"),
                .init("due_date", .nullable(EngagementMethods.date), required: false, "new due date"),
                .init("done", .boolean, required: false, "done (true) or open (false)"),
            ],
            result: actionItem, access: .role(.member), function: "api.action_item_update"),

        MethodDefinition("action_item.list",
            summary: "Action items, filtered (open; overdue: open and past due), one page at a time.",
            params: [
                .init("engagement_id", .uuid, required: false, "only this engagement's"),
                .init("owner_user_id", .uuid, required: false, "only this owner's"),
                .init("open", .boolean, required: false, "only open ones"),
                .init("overdue", .boolean, required: false, "only overdue ones"),
                .init("sort", .enumeration(["created_at", "name"]), required: false, "sort key (default created_at; name is the title)"),
            ] + DomainSupport.listFields.filter { $0.name != "sort" },
            result: DomainSupport.page(of: actionItem), access: .role(.viewer), function: "api.action_item_list"),

        MethodDefinition("engagement.quiet",
            summary: "Active and on-hold engagements with no touchpoint held in the last N days, the longest quiet first.",
            params: [.init("days", .integer(minimum: 1, maximum: 3660), "how many days without a held touchpoint")],
            result: .array(items: .object([
                .init("id", .uuid, "the engagement"), .init("code", .string(), "its code"), .init("name", .string(), "its name"),
                .init("status", .enumeration(["active", "on_hold"]), "its status"),
                .init("last_held_at", .nullable(.string(format: "date-time")), "the last touchpoint held (null: none ever)"),
            ])),
            access: .role(.viewer), function: "api.engagement_quiet"),
    ]
}

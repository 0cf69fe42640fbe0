import JSONRPC

/// Reminders: a due time for one user on an engagement item (touchpoint, action item, playbook task, the
/// contract's end, the renewal date) or a free one; done or snoozed. `reminder.due` is the caller's list of what
/// has come up. Read by every role, written by members and above. The work: `SQL/definitions/0310_reminders.sql`.
enum ReminderMethods {
    static let kinds = ["touchpoint", "action_item", "playbook_task", "contract_end", "renewal", "free"]
    static let timestamp = HealthMethods.timestamp
    static let reminder = Schema.object([
        .init("id", .uuid, "the reminder"), .init("engagement_id", .uuid, "its engagement"),
        .init("subject_kind", .enumeration(kinds), "what it is about"),
        .init("subject_id", .nullable(.uuid), "the touchpoint, action item, task or contract"),
        .init("title", .string(), "what to remember"), .init("note", .string(), "more"),
        .init("due_at", .string(format: "date-time"), "when it is due"),
        .init("recipient_user_id", .uuid, "whom it reminds"),
        .init("snoozed_until", .nullable(.string(format: "date-time")), "put off until"),
        .init("done_at", .nullable(.string(format: "date-time")), "when it was marked done"),
        .init("comes_up_at", .string(format: "date-time"), "the later of due_at and snoozed_until"),
        .init("state", .enumeration(["upcoming", "snoozed", "due", "done"]), "where it stands now"),
    ] + DomainSupport.rowFields)

    static let all: [MethodDefinition] = [
        MethodDefinition("reminder.create",
            summary: "Set a reminder on an engagement item or a free one; title and due time default from the item.",
            params: [
                .init("engagement_id", .uuid, "the engagement"),
                .init("subject_kind", .enumeration(kinds), "what it is about"),
                .init("subject_id", .uuid, required: false,
                      "the touchpoint, action item or playbook task (required for those); contract_end: the engagement's contract"),
                .init("title", .string(minLength: 1, maxLength: 300), required: false, "default: from the item (required for free)"),
                .init("note", .string(maxLength: 4000), required: false, "more"),
                .init("due_at", timestamp, required: false,
                      "default: a day before a touchpoint, an item's or task's due date, the contract's or engagement's end less days_before"),
                .init("days_before", .integer(minimum: 0, maximum: 3650), required: false,
                      "contract_end (default 30) and renewal (default 60): how long before the end"),
                .init("recipient_user_id", .uuid, required: false, "whom it reminds (default: you)"),
                DomainSupport.idempotencyField,
            ],
            result: reminder, access: .role(.member), function: "api.reminder_create"),

        MethodDefinition("reminder.get", summary: "One reminder.",
            params: [.init("id", .uuid, "the reminder")], result: reminder, access: .role(.viewer), function: "api.reminder_get"),

        MethodDefinition("reminder.update",
            summary: "Change, snooze (snoozed_until; null wakes it), mark done (done: true) or reopen a reminder.",
            params: DomainSupport.versioned("the reminder") + [
                .init("title", .string(minLength: 1, maxLength: 300), required: false, "new title"),
                .init("note", .string(maxLength: 4000), required: false, "new note"),
                .init("due_at", timestamp, required: false, "new due time"),
                .init("recipient_user_id", .uuid, required: false, "new recipient"),
                .init("snoozed_until", .nullable(timestamp), required: false, "put off until (in the future); null wakes it"),
                .init("done", .boolean, required: false, "done (true) or open again (false)"),
            ],
            result: reminder, access: .role(.member), function: "api.reminder_update"),

        MethodDefinition("reminder.delete", summary: "Delete a reminder.",
            params: DomainSupport.versioned("the reminder"),
            result: DomainSupport.deleted, access: .role(.member), function: "api.reminder_delete"),

        MethodDefinition("reminder.list", summary: "Reminders of the organisation, one engagement or one recipient, one page at a time.",
            params: [
                .init("engagement_id", .uuid, required: false, "only this engagement's"),
                .init("recipient_user_id", .uuid, required: false, "only this user's"),
                .init("open", .boolean, required: false, "only those not done"),
            ] + DomainSupport.listFields,
            result: DomainSupport.page(of: reminder), access: .role(.viewer), function: "api.reminder_list"),

        MethodDefinition("reminder.due", summary: "Your open reminders that have come up (by until, default now), soonest first (at most 200).",
            params: [.init("until", timestamp, required: false, "look ahead to this time")],
            result: .array(items: reminder), access: .role(.viewer), function: "api.reminder_due"),
    ]
}

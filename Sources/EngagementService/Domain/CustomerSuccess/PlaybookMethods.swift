import JSONRPC

/// Playbooks: ordered steps of guidance; starting one on an engagement makes a run of tasks, tracked to
/// completion, at most one running instance per playbook and engagement. Playbooks are written by managers, runs
/// and tasks by members. The work: `SQL/definitions/0220_playbooks.sql`.
enum PlaybookMethods {
    static let bands = ["red", "amber", "green", "unknown"]
    static let roles = UserMethods.roles
    static let step = Schema.object([
        .init("title", .string(minLength: 1, maxLength: 300), "what to do"),
        .init("owner_role", roles, required: false, "who should do it"),
        .init("due_offset_days", .integer(minimum: 0, maximum: 3650), required: false, "due this many days after the start (default 0)"),
        .init("stages", .array(items: .enumeration(EngagementMethods.journeyStages), maxItems: 6), required: false,
              "only for engagements in one of these journey stages"),
        .init("bands", .array(items: .enumeration(bands), maxItems: 4), required: false,
              "only for engagements whose current health band is one of these"),
    ])
    static let playbook = Schema.object([
        .init("id", .uuid, "the playbook"), .init("name", .string(), "unique per organisation"),
        .init("description", .string(), "what it is for"), .init("steps", .array(items: step), "the steps, in order"),
        .init("archived", .boolean, "archived playbooks cannot be started"),
        .init("version", .integer(minimum: 1), "row version"),
        .init("created_at", .string(format: "date-time"), "created"), .init("updated_at", .string(format: "date-time"), "last changed"),
    ])
    static let taskStatuses = ["todo", "doing", "done", "skipped"]
    static let task = Schema.object([
        .init("id", .uuid, "the task"), .init("run_id", .uuid, "its run"), .init("position", .integer(minimum: 0), "its place"),
        .init("title", .string(), "what to do"), .init("owner_role", .nullable(roles), "who should do it"),
        .init("owner_user_id", .nullable(.uuid), "who does it"), .init("due_date", .nullable(EngagementMethods.date), "by when"),
        .init("status", .enumeration(taskStatuses), "where it stands"),
        .init("done_at", .nullable(.string(format: "date-time")), "when it was done or skipped"),
        .init("overdue", .boolean, "open and past due"), .init("version", .integer(minimum: 1), "row version"),
    ])
    static let run = Schema.object([
        .init("id", .uuid, "the run"), .init("playbook_id", .uuid, "the playbook"), .init("playbook", .string(), "its name"),
        .init("engagement_id", .uuid, "the engagement"),
        .init("status", .enumeration(["running", "completed", "cancelled"]), "running until every task is done or skipped"),
        .init("started_at", .string(format: "date-time"), "started"), .init("started_by", .nullable(.uuid), "by whom"),
        .init("finished_at", .nullable(.string(format: "date-time")), "completed or cancelled"),
        .init("tasks", .array(items: task), "in order"),
        .init("progress", .object([
            .init("tasks", .integer(minimum: 0), "tasks"), .init("finished", .integer(minimum: 0), "done or skipped"),
        ]), "how far it is"),
    ])

    static let all: [MethodDefinition] = [
        MethodDefinition("playbook.create", summary: "Define a playbook: ordered steps with owner role, due offset and conditions.",
            params: [
                .init("name", .string(minLength: 1, maxLength: 200), "unique per organisation (case-insensitive)"),
                .init("description", .string(maxLength: 4000), required: false, "what it is for"),
                .init("steps", .array(items: step, maxItems: 100), "the steps, in order (at least one)"),
                DomainSupport.idempotencyField,
            ],
            result: playbook, access: .role(.manager), function: "api.playbook_create"),

        MethodDefinition("playbook.get", summary: "One playbook by id.",
            params: [.init("id", .uuid, "the playbook")], result: playbook, access: .role(.viewer), function: "api.playbook_get"),

        MethodDefinition("playbook.update",
            summary: "Change a playbook (later starts use the new steps; running instances keep theirs); archived: true archives it.",
            params: [
                .init("id", .uuid, "the playbook"),
                .init("version", .integer(minimum: 1), "the version you last read"),
                .init("name", .string(minLength: 1, maxLength: 200), required: false, "new name"),
                .init("description", .string(maxLength: 4000), required: false, "new description"),
                .init("steps", .array(items: step, maxItems: 100), required: false, "replaces the steps"),
                .init("archived", .boolean, required: false, "archive (true) or restore (false)"),
            ],
            result: playbook, access: .role(.manager), function: "api.playbook_update"),

        MethodDefinition("playbook.list", summary: "Playbooks, one page at a time (archived ones only when asked).",
            params: [
                .init("q", .string(minLength: 1, maxLength: 200), required: false, "text in the name"),
                .init("include_archived", .boolean, required: false, "also archived playbooks (default false)"),
            ] + DomainSupport.listFields,
            result: DomainSupport.page(of: playbook), access: .role(.viewer), function: "api.playbook_list"),

        MethodDefinition("playbook.start",
            summary: "Start a playbook on an engagement: a task per step whose conditions hold now; -32007 playbook_running when it already runs there.",
            params: [.init("playbook_id", .uuid, "the playbook"), .init("engagement_id", .uuid, "the engagement"), DomainSupport.idempotencyField],
            result: run, access: .role(.member), function: "api.playbook_start"),

        MethodDefinition("playbook_run.get", summary: "One playbook run with its tasks and progress.",
            params: [.init("id", .uuid, "the run")], result: run, access: .role(.viewer), function: "api.playbook_run_get"),

        MethodDefinition("playbook_run.list", summary: "An engagement's playbook runs, newest first.",
            params: [
                .init("engagement_id", .uuid, "the engagement"),
                .init("status", .enumeration(["running", "completed", "cancelled"]), required: false, "only this status"),
            ],
            result: .array(items: run), access: .role(.viewer), function: "api.playbook_run_list"),

        MethodDefinition("playbook_run.cancel", summary: "Cancel a running playbook run (its tasks stay as they are).",
            params: [.init("id", .uuid, "the run")], result: run, access: .role(.member), function: "api.playbook_run_cancel"),

        MethodDefinition("playbook_task.update",
            summary: "Move a task (todo, doing, done, skipped) or change its owner or due date; the run completes with its last open task.",
            params: [
                .init("id", .uuid, "the task"),
                .init("version", .integer(minimum: 1), "the version you last read"),
                .init("status", .enumeration(taskStatuses), required: false, "new status"),
                .init("owner_user_id", .nullable(.uuid), required: false, "who does it; null clears"),
                .init("due_date", .nullable(EngagementMethods.date), required: false, "new due date; null clears"),
            ],
            result: task, access: .role(.member), function: "api.playbook_task_update"),
    ]
}

import JSONRPC

/// Projects under an engagement and their deliverables, which may fulfil a deliverable commitment of the
/// engagement's contract. Deliverables move planned → in progress → submitted → accepted or rejected; accepted is
/// final. Read by every role, written by members. The work: `SQL/definitions/0410_projects.sql`.
enum ProjectMethods {
    static let projectStatuses = ["planned", "active", "on_hold", "completed", "cancelled"]
    static let deliverableStatuses = ["planned", "in_progress", "submitted", "accepted", "rejected"]
    static let date = EngagementMethods.date
    static let timestamp = HealthMethods.timestamp

    static let deliverable = Schema.object([
        .init("id", .uuid, "the deliverable"), .init("project_id", .uuid, "its project"),
        .init("engagement_id", .uuid, "its engagement"), .init("title", .string(), "what is delivered"),
        .init("owner_user_id", .nullable(.uuid), "who delivers it"), .init("due_date", .nullable(date), "by when"),
        .init("status", .enumeration(deliverableStatuses), "where it stands"),
        .init("overdue", .boolean, "not accepted and past its due date"),
        .init("commitment_id", .nullable(.uuid), "the deliverable commitment it fulfils"),
        .init("submitted_at", .nullable(.string(format: "date-time")), "last submitted"),
        .init("accepted_at", .nullable(.string(format: "date-time")), "accepted"),
        .init("accepted_by", .nullable(.uuid), "who recorded the acceptance"),
    ] + DomainSupport.rowFields)
    static let project = Schema.object([
        .init("id", .uuid, "the project"), .init("engagement_id", .uuid, "its engagement"),
        .init("name", .string(), "its name"), .init("owner_user_id", .nullable(.uuid), "who runs it"),
        .init("start_date", .nullable(date), "start"), .init("end_date", .nullable(date), "end"),
        .init("status", .enumeration(projectStatuses), "where it stands"),
        .init("deliverables", .array(items: deliverable), "its deliverables, in the order they were added"),
    ] + DomainSupport.rowFields)
    static let deliverableParams: [Schema.Field] = [
        .init("title", .string(minLength: 1, maxLength: 300), "what is delivered"),
        .init("owner_user_id", .uuid, required: false, "who delivers it"),
        .init("due_date", date, required: false, "by when"),
        .init("status", .enumeration(["planned", "in_progress"]), required: false, "planned (default) or in progress"),
        .init("commitment_id", .uuid, required: false, "a deliverable commitment of the engagement's contract it fulfils"),
    ]

    static let all: [MethodDefinition] = [
        MethodDefinition("project.create", summary: "Add a project to an engagement, with its deliverables (all or nothing).",
            params: [
                .init("engagement_id", .uuid, "the engagement"),
                .init("name", .string(minLength: 1, maxLength: 200), "its name"),
                .init("owner_user_id", .uuid, required: false, "who runs it"),
                .init("start_date", date, required: false, "start"),
                .init("end_date", date, required: false, "end, not before start"),
                .init("status", .enumeration(projectStatuses), required: false, "default planned"),
                .init("deliverables", .array(items: .object(deliverableParams), maxItems: 100), required: false, "its deliverables"),
                DomainSupport.idempotencyField,
            ],
            result: project, access: .role(.member), function: "api.project_create"),

        MethodDefinition("project.get", summary: "One project with its deliverables.",
            params: [.init("id", .uuid, "the project")], result: project, access: .role(.viewer), function: "api.project_get"),

        MethodDefinition("project.update", summary: "Change a project's name, owner, dates or status.",
            params: DomainSupport.versioned("the project") + [
                .init("name", .string(minLength: 1, maxLength: 200), required: false, "new name"),
                .init("owner_user_id", .nullable(.uuid), required: false, "new owner; null clears"),
                .init("start_date", .nullable(date), required: false, "new start; null clears"),
                .init("end_date", .nullable(date), required: false, "new end; null clears"),
                .init("status", .enumeration(projectStatuses), required: false, "new status"),
            ],
            result: project, access: .role(.member), function: "api.project_update"),

        MethodDefinition("project.delete", summary: "Delete a project with its deliverables.",
            params: DomainSupport.versioned("the project"), result: DomainSupport.deleted, access: .role(.member),
            function: "api.project_delete"),

        MethodDefinition("project.list", summary: "Projects of the organisation or one engagement, by status or owner.",
            params: [
                .init("engagement_id", .uuid, required: false, "only this engagement's"),
                .init("status", .enumeration(projectStatuses), required: false, "only this status"),
                .init("owner_user_id", .uuid, required: false, "only this owner's"),
            ] + DomainSupport.listFields,
            result: DomainSupport.page(of: project), access: .role(.viewer), function: "api.project_list"),

        MethodDefinition("deliverable.add", summary: "Add a deliverable to a project.",
            params: [.init("project_id", .uuid, "the project")] + deliverableParams + [DomainSupport.idempotencyField],
            result: deliverable, access: .role(.member), function: "api.deliverable_add"),

        MethodDefinition("deliverable.update",
            summary: "Change a deliverable or move it (planned → in_progress → submitted → accepted or rejected; -32007 illegal_transition, deliverable_accepted).",
            params: DomainSupport.versioned("the deliverable") + [
                .init("title", .string(minLength: 1, maxLength: 300), required: false, "new title"),
                .init("owner_user_id", .nullable(.uuid), required: false, "new owner; null clears"),
                .init("due_date", .nullable(date), required: false, "new due date; null clears"),
                .init("status", .enumeration(deliverableStatuses), required: false, "the status to move to"),
                .init("commitment_id", .nullable(.uuid), required: false, "the commitment it fulfils; null clears"),
                .init("accepted_at", timestamp, required: false, "with status accepted: when it was accepted (default now; never later)"),
            ],
            result: deliverable, access: .role(.member), function: "api.deliverable_update"),

        MethodDefinition("deliverable.delete", summary: "Delete a deliverable.",
            params: DomainSupport.versioned("the deliverable"), result: DomainSupport.deleted, access: .role(.member),
            function: "api.deliverable_delete"),

        MethodDefinition("deliverable.list",
            summary: "Deliverables by engagement, project, commitment, status or owner; overdue: not accepted and past due.",
            params: [
                .init("engagement_id", .uuid, required: false, "only this engagement's"),
                .init("project_id", .uuid, required: false, "only this project's"),
                .init("commitment_id", .uuid, required: false, "only those fulfilling this commitment"),
                .init("status", .enumeration(deliverableStatuses), required: false, "only this status"),
                .init("owner_user_id", .uuid, required: false, "only this owner's"),
                .init("overdue", .boolean, required: false, "only overdue ones"),
            ] + DomainSupport.listFields(sorts: ["created_at", "name"], defaultSort: "created_at"),
            result: DomainSupport.page(of: deliverable), access: .role(.viewer), function: "api.deliverable_list"),
    ]
}

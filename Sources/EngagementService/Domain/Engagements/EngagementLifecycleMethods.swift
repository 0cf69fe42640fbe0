import JSONRPC

/// Status changes and delivery parties of engagements. The legal moves (Draft → Active → On Hold ⇄ Active →
/// Completed → Archived, with a template needed to activate a draft) are enforced by the database's trigger,
/// which also records every change; these methods only ask for them. The work:
/// `SQL/definitions/0120_api_engagements.sql`.
enum EngagementLifecycleMethods {
    static let all: [MethodDefinition] = [
        MethodDefinition("engagement.transition",
            summary: "Move an engagement to another status (draft→active needs a template; illegal moves get -32007).",
            params: [
                .init("id", .uuid, "the engagement"),
                .init("version", .integer(minimum: 1), "the version you last read"),
                .init("to", .enumeration(EngagementMethods.statuses), "the new status"),
                .init("reason", .string(maxLength: 1000), required: false, "why, kept in the history"),
            ],
            result: EngagementMethods.engagement, access: .role(.member),
            function: "api.engagement_transition"),

        MethodDefinition("engagement.transitions", summary: "An engagement's status history, oldest first.",
            params: [.init("id", .uuid, "the engagement")],
            result: .array(items: .object([
                .init("from", .nullable(.enumeration(EngagementMethods.statuses)), "the status before (null at creation)"),
                .init("to", .enumeration(EngagementMethods.statuses), "the status after"),
                .init("changed_by", .nullable(.uuid), "the user (null for psql changes)"),
                .init("changed_at", .string(format: "date-time"), "when"),
                .init("reason", .string(), "why (empty when none was given)"),
            ])), access: .role(.viewer),
            function: "api.engagement_transitions"),

        MethodDefinition("engagement.add_deliverer",
            summary: "Add a delivery party (a delivery partner or the organisation itself) with a role, or change its role.",
            params: [
                .init("id", .uuid, "the engagement"),
                .init("party_id", .uuid, "a party of kind delivery_partner or self"),
                .init("role", .enumeration(["lead", "subcontractor", "partner"]), required: false, "default lead"),
            ],
            result: EngagementMethods.engagement, access: .role(.member),
            function: "api.engagement_add_deliverer"),

        MethodDefinition("engagement.remove_deliverer",
            summary: "Remove a delivery party; the last one cannot be removed (-32007).",
            params: [.init("id", .uuid, "the engagement"), .init("party_id", .uuid, "the party to remove")],
            result: EngagementMethods.engagement, access: .role(.member),
            function: "api.engagement_remove_deliverer"),

        MethodDefinition("engagement.set_stage",
            summary: "Move an engagement to another journey stage (any to any, but nothing follows lost: -32007 stage_terminal); recorded with the reason.",
            params: [
                .init("id", .uuid, "the engagement"),
                .init("version", .integer(minimum: 1), "the version you last read"),
                .init("stage", .enumeration(EngagementMethods.journeyStages), "the new stage"),
                .init("reason", .string(maxLength: 1000), required: false, "why, kept in the history"),
            ],
            result: EngagementMethods.engagement, access: .role(.member),
            function: "api.engagement_set_stage"),

        MethodDefinition("engagement.stages", summary: "An engagement's journey stage and its history, oldest first.",
            params: [.init("id", .uuid, "the engagement")],
            result: .object([
                .init("stage", .enumeration(EngagementMethods.journeyStages), "the current stage"),
                .init("changed_at", .nullable(.string(format: "date-time")), "when it last changed (null: never)"),
                .init("history", .array(items: .object([
                    .init("from", .enumeration(EngagementMethods.journeyStages), "before"),
                    .init("to", .enumeration(EngagementMethods.journeyStages), "after"),
                    .init("changed_by", .nullable(.uuid), "the user (null for psql changes)"),
                    .init("changed_at", .string(format: "date-time"), "when"),
                    .init("reason", .string(), "why (empty when none was given)"),
                ])), "every change"),
            ]),
            access: .role(.viewer), function: "api.engagement_stages"),
    ]
}

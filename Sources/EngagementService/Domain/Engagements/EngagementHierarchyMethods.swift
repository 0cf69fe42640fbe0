import JSONRPC

/// Parent/child engagements. Cycles, depth and archived engagements are checked by the database's trigger
/// (safe under concurrent moves); trees are read with recursive queries over the (organisation, parent) index.
/// The work: `SQL/definitions/0120_api_engagements.sql`; rollups: `0022_rollups.sql` and `0022_rollups_maintained.sql`.
enum EngagementHierarchyMethods {
    static let node: [Schema.Field] = [
        .init("id", .uuid, "the engagement"), .init("code", .string(), "its code"), .init("name", .string(), "its name"),
        .init("status", .enumeration(EngagementMethods.statuses), "its status"),
        .init("parent_id", .nullable(.uuid), "its parent"),
    ]

    static let rollup: Schema = {
        let count = Schema.integer(minimum: 0)
        let amounts = Schema.dictionary(values: .number)
        func counts(_ keys: [String]) -> Schema { .object(keys.map { .init($0, count, "how many") }) }
        return .object([
            .init("engagement_id", .uuid, "the top of the subtree"),
            .init("as_of", .string(format: "date-time"), "when the figures were computed"),
            .init("source", .enumeration(["materialized", "live", "history"]),
                  "read from the maintained rollups (refreshed per organisation after writes), computed now, or rebuilt for as_of"),
            .init("sources", .dictionary(values: .enumeration(["audit_log", "current"])), required: false,
                  "with as_of: per part, rebuilt from the audit log or as it is now"),
            .init("engagements", count, "engagements in the subtree, itself included"),
            .init("by_status", counts(EngagementMethods.statuses), "engagements by status"),
            .init("contract_value", amounts, "value of the distinct contracts, per currency"),
            .init("health", .object([
                .init("by_band", counts(["red", "amber", "green", "unknown"]), "engagements by current health band"),
                .init("mean", .nullable(.number), "mean current score"),
                .init("weighted_by_contract_value", amounts, "mean weighted by contract value, per currency"),
            ]), "current health"),
            .init("risks", .object([
                .init("open", count, "open risks"),
                .init("by_probability", counts(["very_low", "low", "medium", "high", "very_high"]), "open risks by probability"),
                .init("by_severity", counts(["low", "medium", "high", "critical"]), "open risks by severity"),
                .init("value_at_risk", amounts, "open value at risk, per currency"),
            ]), "open risks"),
            .init("work", .object([
                .init("objectives", .object([
                    .init("by_status", counts(SuccessPlanMethods.objectiveStatuses), "objectives by status"),
                ]), "success objectives"),
                .init("initiatives", .object([
                    .init("by_type_and_stage", .dictionary(values: counts(SuccessPlanMethods.initiativeStages)),
                          "per initiative type, initiatives by stage"),
                    .init("open", count, "planned or in progress"), .init("overdue", count, "open and past due"),
                ]), "initiatives"),
                .init("playbook_tasks", .object([
                    .init("by_status", counts(PlaybookMethods.taskStatuses), "tasks of every run by status"),
                    .init("overdue", count, "open tasks of running runs past due"),
                    .init("running_playbooks", count, "runs in progress"),
                ]), "plays and their tasks"),
                .init("action_items", .object([
                    .init("open", count, "not done"), .init("overdue", count, "not done and past due"),
                ]), "action items of touchpoints"),
                .init("deliverables", .object([
                    .init("by_status", counts(ProjectMethods.deliverableStatuses), "deliverables of the subtree's projects by status"),
                    .init("overdue", count, "not accepted and past due"),
                ]), required: false, "project deliverables (absent from a rollup materialized before deliverables existed)"),
                .init("sla", .object([
                    .init("credits", amounts, "SLA credits computed over the subtree, per currency"),
                    .init("breached_periods", count, "SLA measurement periods breached"),
                ]), required: false, "SLA breaches and credits (absent from a rollup materialized before they existed)"),
                .init("adoption", .array(items: .object([
                    .init("product_id", .uuid, "the product"), .init("product", .string(), "its name"),
                    .init("engagements", count, "engagements with adoption data for it"),
                    .init("licence_utilisation", .nullable(.number), "mean of their latest months"),
                    .init("capability_coverage", .nullable(.number), "mean of their latest months"),
                    .init("adoption_score", .nullable(.number), "mean of their latest months"),
                ])), "adoption per product"),
            ]), "work by type and stage over the subtree"),
            .init("monthly", .array(items: .object([
                .init("period", .string(), "YYYY-MM"), .init("check_ins", count, "check-ins that month"),
                .init("planned_hours", .nullable(.number), "planned hours"), .init("actual_hours", .nullable(.number), "actual hours"),
                .init("health_mean", .nullable(.number), "mean monthly score"),
                .init("health_by_band", counts(["red", "amber", "green"]), "monthly scores by band"),
            ])), "trend per month"),
            .init("finance", .array(items: .object([
                .init("period", .string(), "YYYY-MM"), .init("currency", .string(), "ISO 4217"),
                .init("revenue_plan", .nullable(.number), "planned revenue"), .init("revenue_actual", .nullable(.number), "actual revenue"),
                .init("cost_plan", .nullable(.number), "planned cost"), .init("cost_actual", .nullable(.number), "actual cost"),
                .init("cost_variance", .nullable(.number), "actual − planned cost"),
            ])), "finance per month and currency"),
        ])
    }()

    static let all: [MethodDefinition] = [
        MethodDefinition("engagement.set_parent",
            summary: "Place an engagement (with its subtree) under a parent, or make it a root with parent_id null.",
            params: [
                .init("id", .uuid, "the engagement to move"),
                .init("version", .integer(minimum: 1), "the version you last read"),
                .init("parent_id", .nullable(.uuid), "the new parent, or null"),
            ],
            result: EngagementMethods.engagement, access: .role(.member),
            function: "api.engagement_set_parent"),

        MethodDefinition("engagement.tree",
            summary: "An engagement and all its descendants, depth first, each with its depth (0 for the engagement) and path of ids.",
            params: [
                .init("id", .uuid, "the top of the tree"),
                .init("status", .enumeration(EngagementMethods.statuses), required: false, "only nodes of this status"),
            ],
            result: .array(items: .object(node + [
                .init("depth", .integer(minimum: 0), "0 for the engagement asked for"),
                .init("path", .array(items: .uuid), "ids from the engagement asked for down to this one"),
            ])), access: .role(.viewer),
            function: "api.engagement_tree"),

        MethodDefinition("engagement.ancestors", summary: "An engagement's parent, grandparent … up to its root, nearest first.",
            params: [.init("id", .uuid, "the engagement")],
            result: .array(items: .object(node + [
                .init("distance", .integer(minimum: 1), "1 for the parent"),
            ])), access: .role(.viewer),
            function: "api.engagement_ancestors"),

        MethodDefinition("engagement.rollup",
            summary: "Rollups over the engagement's whole subtree (itself included): counts by status, contract value per currency, health, open risks, finance and capacity per month.",
            params: [
                .init("id", .uuid, "the engagement"),
                .init("fresh", .boolean, required: false, "true: compute live now instead of reading the maintained rollups (refreshed per organisation after writes)"),
                .init("as_of", HealthMethods.timestamp, required: false,
                      "as it was then: subtree, statuses, contracts, risks and health rebuilt from the audit log and score history"),
            ],
            result: rollup,
            access: .role(.viewer),
            function: "api.engagement_rollup"),
    ]
}

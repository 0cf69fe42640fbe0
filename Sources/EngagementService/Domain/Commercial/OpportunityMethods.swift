import JSONRPC

/// Opportunities: the sales pipeline in front of delivery, in each organisation's stages. A new opportunity is won
/// only with a contract or MOU linked; a won one has exactly one engagement, made by `opportunity.win`; a renewal
/// needs no contract. Read by every role, written by members (stages by managers). The work:
/// `SQL/definitions/0400_opportunities.sql` (rules), `0401_api_opportunities.sql` and `0402_pipeline_stages.sql`.
enum OpportunityMethods {
    static let kinds = ["new", "renewal"]
    static let outcomes = ["open", "won", "lost"]
    static let stage = TouchpointMethods.kind
    static let date = EngagementMethods.date
    static let currency = ContractMethods.currency

    static let opportunity = Schema.object([
        .init("id", .uuid, "the opportunity"),
        .init("kind", .enumeration(kinds), "new business or the renewal of an engagement or contract"),
        .init("customer", .object([.init("id", .uuid, "the customer"), .init("name", .string(), "its name")]), "the customer"),
        .init("renews_engagement_id", .nullable(.uuid), "the engagement a renewal renews"),
        .init("renews_contract_id", .nullable(.uuid), "the contract a renewal renews"),
        .init("title", .string(), "what is sold"),
        .init("value", .number, "expected value"), .init("currency", .string(), "ISO 4217 code"),
        .init("expected_close_date", .nullable(date), "when it should close"),
        .init("owner_user_id", .nullable(.uuid), "who sells it"),
        .init("stage", .string(), "its pipeline stage"),
        .init("outcome", .enumeration(outcomes), "open, or closed as won or lost"),
        .init("stage_changed_at", .string(format: "date-time"), "when it entered its stage"),
        .init("closed_at", .nullable(.string(format: "date-time")), "when it was won or lost"),
        .init("lost_reason", .string(), "why it was lost"),
        .init("contract_ids", .array(items: .uuid), "the contracts or MOUs it was sold with"),
        .init("engagement_id", .nullable(.uuid), "the engagement it got when won"),
    ] + DomainSupport.rowFields)
    static let stages = Schema.array(items: .object([
        .init("name", .string(), "the stage"), .init("position", .integer(), "its place in the pipeline"),
        .init("outcome", .enumeration(outcomes), "open, or closed as won or lost"),
        .init("opportunities", .integer(minimum: 0), "opportunities in it now"),
    ]))
    static let versioned = DomainSupport.versioned("the opportunity")
    static let link: [Schema.Field] = [
        .init("id", .uuid, "the opportunity"), .init("contract_id", .uuid, "a contract or MOU of the opportunity's customer"),
    ]

    static let all: [MethodDefinition] = [
        MethodDefinition("opportunity.create",
            summary: "Open an opportunity for a customer, in the given open stage or the first; a renewal names what it renews.",
            params: [
                .init("customer_party_id", .uuid, "the customer (a party of kind customer)"),
                .init("title", .string(minLength: 1, maxLength: 200), "what is sold"),
                .init("value", .nonNegativeNumber, "expected value"),
                .init("currency", currency, "ISO 4217 code"),
                .init("kind", .enumeration(kinds), required: false, "new (default) or renewal"),
                .init("renews_engagement_id", .uuid, required: false, "for a renewal: the engagement it renews"),
                .init("renews_contract_id", .uuid, required: false, "for a renewal: the contract it renews"),
                .init("expected_close_date", date, required: false, "when it should close"),
                .init("owner_user_id", .uuid, required: false, "who sells it"),
                .init("stage", stage, required: false, "an open stage (default: the first)"),
                .init("contract_ids", .array(items: .uuid, maxItems: 20), required: false, "contracts or MOUs to link now"),
                DomainSupport.idempotencyField,
            ],
            result: opportunity, access: .role(.member), function: "api.opportunity_create"),

        MethodDefinition("opportunity.get", summary: "One opportunity with its contracts and engagement.",
            params: [.init("id", .uuid, "the opportunity")], result: opportunity, access: .role(.viewer), function: "api.opportunity_get"),

        MethodDefinition("opportunity.update",
            summary: "Change an open opportunity's title, value, currency, close date or owner; closed: -32007 opportunity_closed.",
            params: versioned + [
                .init("title", .string(minLength: 1, maxLength: 200), required: false, "new title"),
                .init("value", .nonNegativeNumber, required: false, "new value"),
                .init("currency", currency, required: false, "new currency"),
                .init("expected_close_date", .nullable(date), required: false, "new close date; null clears"),
                .init("owner_user_id", .nullable(.uuid), required: false, "new owner; null clears"),
            ],
            result: opportunity, access: .role(.member), function: "api.opportunity_update"),

        MethodDefinition("opportunity.move",
            summary: "Move an open opportunity to another open stage or to closed_lost (with the reason); won only through opportunity.win.",
            params: versioned + [
                .init("stage", stage, "the stage to enter"),
                .init("reason", .string(maxLength: 2000), required: false, "why (kept in the history; the lost reason)"),
            ],
            result: opportunity, access: .role(.member), function: "api.opportunity_move"),

        MethodDefinition("opportunity.win",
            summary: "Close as won and give it its engagement in one call: create one from a template (engagement) or attach one (engagement_id); a new opportunity needs a contract or MOU (-32007 contract_required).",
            params: versioned + [
                .init("contract_id", .uuid, required: false, "link this contract or MOU first; also the engagement's contract"),
                .init("engagement", .object([
                    .init("code", ServiceMethods.code, "the new engagement's code"),
                    .init("template_id", .uuid, required: false, "its template (a renewal's defaults to the renewed engagement's)"),
                    .init("name", .string(minLength: 1, maxLength: 200), required: false, "its name (default: the opportunity's title)"),
                    .init("start_date", date, required: false, "default: the contract's start"),
                    .init("end_date", date, required: false, "default: the contract's end"),
                    .init("owner_user_id", .uuid, required: false, "default: the opportunity's owner"),
                ]), required: false, "the engagement to create"),
                .init("engagement_id", .uuid, required: false, "an engagement of the customer without an opportunity, to attach instead"),
                .init("reason", .string(maxLength: 2000), required: false, "kept in the history"),
                DomainSupport.idempotencyField,
            ],
            result: .object([
                .init("opportunity", opportunity, "the won opportunity"), .init("engagement", EngagementMethods.engagement, "its engagement"),
            ]),
            access: .role(.member), function: "api.opportunity_win"),

        MethodDefinition("opportunity.link_contract",
            summary: "Link a contract or MOU of the same customer (a contract is sold by one opportunity).",
            params: link, result: opportunity, access: .role(.member), function: "api.opportunity_link_contract"),

        MethodDefinition("opportunity.unlink_contract",
            summary: "Unlink a contract; a won new opportunity keeps at least one (-32007 contract_required).",
            params: link, result: opportunity, access: .role(.member), function: "api.opportunity_unlink_contract"),

        MethodDefinition("opportunity.delete", summary: "Delete an opportunity; a won one's engagement keeps it (-32004 in_use).",
            params: versioned, result: DomainSupport.deleted, access: .role(.manager), function: "api.opportunity_delete"),

        MethodDefinition("opportunity.list",
            summary: "Opportunities by customer, kind, stage, owner, open or closed, or closing before a date.",
            params: [
                .init("customer_party_id", .uuid, required: false, "only this customer's"),
                .init("kind", .enumeration(kinds), required: false, "only new or only renewals"),
                .init("stage", stage, required: false, "only this stage"),
                .init("owner_user_id", .uuid, required: false, "only this owner's"),
                .init("open", .boolean, required: false, "true: only open; false: only closed"),
                .init("closing_before", date, required: false, "only those expected to close before this date"),
            ] + DomainSupport.listFields(sorts: ["created_at", "name", "value"], defaultSort: "created_at"),
            result: DomainSupport.page(of: opportunity), access: .role(.viewer), function: "api.opportunity_list"),

        MethodDefinition("opportunity.history",
            summary: "The stages an opportunity entered, oldest first: from, to, who, when, why and days in the previous stage.",
            params: [.init("id", .uuid, "the opportunity")],
            result: .object([
                .init("stage", .string(), "its stage now"),
                .init("changes", .array(items: .object([
                    .init("from", .nullable(.string()), "the stage left (null: created)"), .init("to", .string(), "the stage entered"),
                    .init("changed_by", .nullable(.uuid), "who"), .init("changed_at", .string(format: "date-time"), "when"),
                    .init("reason", .string(), "why"), .init("days_in_previous", .nullable(.number), "days spent in the stage left"),
                ])), "every stage entered"),
            ]),
            access: .role(.viewer), function: "api.opportunity_history"),

        MethodDefinition("opportunity.stages", summary: "The organisation's pipeline: open stages in order, then closed_won and closed_lost.",
            params: [], result: stages, access: .role(.viewer), function: "api.opportunity_stages"),

        MethodDefinition("opportunity.set_stages",
            summary: "Replace the open stages with this ordered list; a stage opportunities are in cannot be removed (-32004 in_use).",
            params: [.init("stages", .array(items: stage, maxItems: 30), "the open stages, in order (not closed_won or closed_lost)")],
            result: stages, access: .role(.manager), function: "api.opportunity_set_stages"),
    ]
}

import JSONRPC

/// `events.subscribe` and `events.unsubscribe`: pushed notifications of the timeline's entries on the caller's
/// connection (docs/protocol.md, "Events"). The subscription lives in the `EventHub`; the database checks the
/// filters and the cursor (`api.events_poll`, `SQL/definitions/0330_events.sql`).
enum EventMethods {
    static let filters: [Schema.Field] = [
        .init("types", .array(items: .enumeration(TimelineMethods.entryTypes), maxItems: 30), required: false, "only these entry types"),
        .init("engagement_id", .uuid, required: false, "only this engagement's (default: the whole organisation)"),
        .init("subtree", .boolean, required: false, "with engagement_id: its whole subtree"),
    ]

    static let all: [MethodDefinition] = [
        MethodDefinition(
            "events.subscribe",
            summary: "Receive the organisation's timeline entries as events.event notifications on this connection, from now or after a cursor.",
            params: filters + [
                .init("after", .string(minLength: 1, maxLength: 20), required: false,
                      "replay what followed this cursor (at most 7 days back; older: -32602, resync)"),
            ],
            result: .object([
                .init("subscription", .string(), "its id, in every notification"),
                .init("cursor", .string(), "where delivery starts"),
            ]),
            access: .role(.viewer)
        ) { context, params throws(RPCError) in
            guard let hub = context.events, let outbound = context.session.outbound else {
                throw RPCError(.methodNotFound, "Method not found: events are not offered here", reason: "method_not_found")
            }
            var filters = JSONObject()
            for field in Self.filters { if let value = params.value(field.name) { filters[field.name] = value } }
            var check = filters
            if let after = params.string("after") { check["after"] = .string(after) }
            check["limit"] = 0
            let start = try await context.call("api.events_poll", with: check)
            let cursor = params.string("after") ?? start["cursor"]?.stringValue ?? "0"
            let id = try await hub.subscribe(
                session: context.session, principal: context.principal, outbound: outbound, filters: filters, cursor: cursor)
            return .result(.object(["subscription": .string(id), "cursor": .string(cursor)]))
        },

        MethodDefinition(
            "events.unsubscribe", summary: "End a subscription of this connection.",
            params: [.init("subscription", .string(minLength: 1, maxLength: 20), "its id")],
            result: .object([.init("subscription", .string(), "its id"), .init("ended", .boolean, "true")]),
            access: .role(.viewer)
        ) { context, params throws(RPCError) in
            let id = params.requiredString("subscription")
            guard let hub = context.events, await hub.unsubscribe(id, session: context.session) else {
                throw RPCError(.notFound, "Not found: no such subscription on this connection", reason: "not_found")
            }
            return .result(.object(["subscription": .string(id), "ended": true]))
        },
    ]
}

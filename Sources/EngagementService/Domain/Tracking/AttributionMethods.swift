import JSONRPC

/// Attribution periods: a delivery party credited with an engagement's items over a range of months. An item's
/// own party wins over the period's; without either, the engagement's default deliverer (its lead, the
/// organisation itself first) is credited. The work: `SQL/definitions/0140_api_tracking.sql`.
enum AttributionMethods {
    static let all: [MethodDefinition] = [set, remove, list]

    static let periods = Schema.array(items: .object([
        .init("id", .uuid, "the attribution period"), .init("party_id", .uuid, "the credited delivery party"),
        .init("party", .string(), "its name"), .init("from_period", .string(), "first month, YYYY-MM"),
        .init("to_period", .nullable(.string()), "last month; null: open-ended"),
    ]))

    static let set = MethodDefinition(
        "attribution.set",
        summary: "Credit a delivery party of the engagement with its items from one month to another (open-ended without to_period).",
        params: [
            .init("engagement_id", .uuid, "the engagement"),
            .init("party_id", .uuid, "one of its delivery parties"),
            .init("from_period", CheckInMethods.period, "first month, YYYY-MM"),
            .init("to_period", CheckInMethods.period, required: false, "last month; ranges of one engagement never overlap"),
        ],
        result: periods, access: .role(.member),
        function: "api.attribution_set")

    static let remove = MethodDefinition(
        "attribution.remove", summary: "Remove an attribution period; replies with the engagement's remaining ones.",
        params: [.init("engagement_id", .uuid, "the engagement"), .init("id", .uuid, "the attribution period")],
        result: periods, access: .role(.member),
        function: "api.attribution_remove")

    static let list = MethodDefinition(
        "attribution.list", summary: "An engagement's attribution periods and its default deliverer.",
        params: [.init("engagement_id", .uuid, "the engagement")],
        result: periods, access: .role(.viewer),
        function: "api.attribution_list")
}

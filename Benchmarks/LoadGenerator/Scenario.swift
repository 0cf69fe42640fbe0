import Foundation
import JSONRPC

/// What one call of a run does. Ids come from the organisation the connection authenticated as.
enum Scenario: String, CaseIterable, Sendable {
    /// `engagement.get` of a random engagement.
    case pointRead = "point-read"
    /// A filtered `engagement.list` page.
    case listPage = "list-page"
    /// `risk.raise` on a random engagement (a create with its audit row and rollup notification).
    case write
    /// `engagement.rollup` of a random engagement (materialized).
    case rollup
    /// 80 % reads (50 point, 20 list, 10 rollup), 20 % writes.
    case mix

    /// The method and params of the next call.
    func call(engagements: [String], random: inout some RandomNumberGenerator) -> (String, JSONValue) {
        let id = JSONValue.string(engagements.randomElement(using: &random) ?? "")
        switch self {
        case .pointRead: return ("engagement.get", ["id": id])
        case .listPage: return ("engagement.list", ["status": "active", "limit": 20])
        case .write:
            return ("risk.raise", ["engagement_id": id, "title": "Load test", "probability": "low", "impact": "low"])
        case .rollup: return ("engagement.rollup", ["id": id])
        case .mix:
            let roll = Int.random(in: 0..<100, using: &random)
            let pick: Scenario = roll < 50 ? .pointRead : roll < 70 ? .listPage : roll < 80 ? .rollup : .write
            return pick.call(engagements: engagements, random: &random)
        }
    }
}

import Foundation
import JSONRPC
import PostgresClient

/// Many engagements' check-ins in one call. Items of one engagement are written in one transaction (all or
/// nothing for that engagement); engagements are independent of each other. Every item gets a result.
enum CheckInBulkMethods {
    static let all: [MethodDefinition] = [submitMany]

    static let item = Schema.object(
        [
            .init("engagement_id", .uuid, "the engagement"),
            .init("period", CheckInMethods.period, "the month, YYYY-MM"),
        ] + CheckInMethods.contentFields + CheckInMethods.replaceFields)

    static let submitMany = MethodDefinition(
        "checkin.submit_many",
        summary: "Submit many check-ins at once: all-or-nothing per engagement, a result per item.",
        params: [.init("items", .array(items: item, maxItems: 200), "the check-ins, each as for checkin.submit")],
        result: .any(description: """
            {written, failed, results: [{index, engagement_id, period, status: written | failed | rolled_back, id, \
            version, error: {code, message, data} (failed), caused_by: index of the failed item (rolled_back)}]}
            """),
        access: .role(.member)
    ) { context, params throws(RPCError) in
        let items = params.value("items")?.arrayValue?.compactMap(\.objectValue) ?? []
        var results = [JSONValue](repeating: .null, count: items.count)
        for (engagement, indices) in groupedByEngagement(items) {
            var statements: [Statement] = []
            for index in indices {
                let period = items[index]["period"]?.stringValue
                statements.append(CheckInMethods.changeReason(CheckInMethods.resubmissionReason(items[index])))
                statements.append(CheckInMethods.submitStatement(
                    id: UUID(), engagement: engagement, period: period, content: CheckInMethods.content(of: items[index]),
                    replace: items[index]["replace"]?.boolValue ?? false))
                statements.append(Statement(
                    """
                    SELECT id, version FROM app.check_ins
                    WHERE organisation_id = app.current_organisation_id() AND engagement_id = $1::uuid AND period = to_date($2, 'YYYY-MM')
                    """, [engagement, period]))
            }
            do throws(TenantDatabase.LocatedFailure) {
                let outcome = try await context.runLocatingFailure(statements, references: CheckInMethods.references)
                for (position, index) in indices.enumerated() {
                    let written = outcome[3 * position + 2]
                    results[index] = summary(index, items[index], status: "written", extra: [
                        "id": written.string(0, 0).map(JSONValue.string) ?? .null,
                        "version": .number(String(written.int(0, 1) ?? 1)),
                    ])
                }
            } catch {
                let failed = error.statementIndex.map { indices[$0 / 3] }
                for index in indices {
                    if let failed, failed != index {
                        results[index] = summary(index, items[index], status: "rolled_back", extra: ["caused_by": .number(String(failed))])
                    } else {
                        results[index] = summary(index, items[index], status: "failed",
                                                 extra: ["error": relocated(error.error, toItem: index).json])
                    }
                }
            }
        }
        let written = results.filter { $0["status"]?.stringValue == "written" }.count
        return .result([
            "written": .number(String(written)), "failed": .number(String(items.count - written)), "results": .array(results),
        ])
    }

    /// Item indices per engagement, engagements in order of first appearance.
    static func groupedByEngagement(_ items: [JSONObject]) -> [(String, [Int])] {
        var groups: [(String, [Int])] = []
        var position: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let engagement = item["engagement_id"]?.stringValue?.lowercased() ?? ""
            if let existing = position[engagement] {
                groups[existing].1.append(index)
            } else {
                position[engagement] = groups.count
                groups.append((engagement, [index]))
            }
        }
        return groups
    }

    private static func summary(_ index: Int, _ item: JSONObject, status: String, extra: JSONObject) -> JSONValue {
        var object: JSONObject = [
            "index": .number(String(index)), "engagement_id": item["engagement_id"] ?? .null,
            "period": item["period"] ?? .null, "status": .string(status),
        ]
        for member in extra.members { object[member.key] = member.value }
        return .object(object)
    }

    /// The error with its field paths pointing into the item: `params.period` becomes `params.items[3].period`.
    static func relocated(_ error: RPCError, toItem index: Int) -> RPCError {
        guard !error.fields.isEmpty else { return error }
        let fields = error.fields.map { field in
            FieldProblem(
                path: field.path.hasPrefix("params.") || field.path == "params"
                    ? "params.items[\(index)]" + field.path.dropFirst("params".count) : field.path,
                message: field.message)
        }
        return RPCError(error.code, error.message, reason: error.reason, fields: fields,
                        retryAfterMilliseconds: error.retryAfterMilliseconds, limit: error.limit)
    }
}

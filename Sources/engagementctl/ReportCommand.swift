import ArgumentParser
import EngagementClient
import EngagementReport
import Foundation
import JSONRPC

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The visual report of an engagement or a parent account: one self-contained HTML page (report.engagement).",
        discussion: """
            The page has the health trend against its bands, the current score by metric, the open risks on a
            probability × impact grid, plan vs actual per month (money and hours), the children with their bands,
            objectives, initiatives by stage, commitments and SLA credits; inline SVG and CSS only, so it opens
            anywhere and prints to PDF. Without --html the answer of report.engagement is printed as JSON.
            """)

    @Argument(help: "The engagement's code.") var code: String
    @Option(help: "Write the HTML page to this file.") var html: String?
    @Option(help: "First month, YYYY-MM (default: eleven months before --to).") var from: String?
    @Option(help: "Last month, YYYY-MM (default: the latest check-in's).") var to: String?
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let server = try await connection.connect()
        var params: JSONObject = ["code": .string(code)]
        if let from { params["from"] = .string(from) }
        if let to { params["to"] = .string(to) }
        let report = try SpreadsheetExports.result(try await server.call("report.engagement", .object(params)))
        guard let html else {
            print(JSONWriter.string(report))
            return
        }
        try Data(EngagementReportPage.render(report).utf8).write(to: URL(fileURLWithPath: html))
        print("wrote \(html)")
    }
}

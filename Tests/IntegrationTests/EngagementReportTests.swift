import EngagementClient
import Foundation
import JSONRPC
import LocalPostgres
import Testing

/// The visual report end to end: a parent account with a year of imported check-ins, risks and an objective;
/// `engagementctl report CODE --html`; the page rendered by headless Chromium, whose DOM must hold every chart
/// with the numbers report.engagement answers, and which prints to PDF and to a PNG.
@Suite("Engagement report")
struct EngagementReportTests {
    @Test("engagementctl report --html of a parent account: Chromium renders every chart, its numbers are the API's; PNG and PDF")
    func htmlReport() async throws {
        let server = try await ServerFixture.start("report")
        try await server.scoped {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(randomToken(bytes: 4))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            var files = CheckInImportTests.files
            files["engagements"] = """
                code,name,service_code,customer_ref,contract_reference,parent_code,template,status,start_date,end_date
                ACME-ALL,Acme account,MITS,ACME,,,,draft,2025-01-01,2025-12-31
                ACME-MITS,Managed IT Support for Acme FY2025,MITS,ACME,ACME-2025,ACME-ALL,Standard,active,2025-01-01,2025-12-31
                BOLT-SEC,Security Operations for Bolt,SEC,BOLT,,,Standard,active,2025-01-01,2025-12-31

                """
            files["checkins"] = CheckInImportTests.checkIns
            for kind in CheckInImportTests.kindsInOrder {
                let file = directory.appendingPathComponent("\(kind).csv")
                try Data((files[kind] ?? "").utf8).write(to: file)
                _ = try await engagementctl(server, \.orgA, ["import", kind, file.path])
            }
            let a = try await server.session(server.orgA)
            let engagements = try #require(try await a.call("engagement.list")["result"]?["items"]?.arrayValue)
            let parent = try #require(engagements.first { $0["code"] == "ACME-ALL" })
            let child = try #require(engagements.first { $0["code"] == "ACME-MITS" })
            for (engagement, probability, impact) in [(child, "high", "critical"), (child, "high", "critical"), (parent, "low", "medium")] {
                _ = try #require(try await a.call("risk.raise", [
                    "engagement_id": engagement["id"]!, "title": .string("Risk <\(probability)>"), "probability": .string(probability), "impact": .string(impact),
                ])["result"])
            }
            _ = try #require(try await a.call("objective.create", ["engagement_id": child["id"]!, "title": "Fewer tickets & faster"])["result"])

            let page = directory.appendingPathComponent("ACME-ALL.html")
            let run = try await engagementctl(server, \.orgA, ["report", "acme-all", "--html", page.path])
            #expect(run.0 == 0, "\(run.1)")
            let api = try #require(try await a.call("report.engagement", ["code": "ACME-ALL"])["result"])
            #expect(api["subtree_size"] == .number("2") && api["from"] == "2025-01" && api["to"] == "2025-12")
            // Another organisation's engagement, by id or by code, is one that does not exist; one of the two is required.
            let b = try await server.session(server.orgB)
            let foreign = try await b.call("report.engagement", ["engagement_id": parent["id"]!])
            let missing = try await b.call("report.engagement", ["engagement_id": .string(UUID().uuidString.lowercased())])
            #expect(foreign.errorCode == -32003 && foreign["error"] == missing["error"], "\(JSONWriter.string(foreign))")
            let foreignCode = try await b.call("report.engagement", ["code": "ACME-ALL"])
            let missingCode = try await b.call("report.engagement", ["code": "NOPE-1"])
            #expect(foreignCode.errorCode == -32003 && foreignCode["error"] == missingCode["error"])
            #expect(try await a.call("report.engagement", [:]).errorCode == -32602)
            #expect(try await a.call("report.engagement", ["code": "ACME-ALL", "engagement_id": parent["id"]!]).errorCode == -32602)

            // Chromium's DOM: every chart, and its marks carry the API's numbers.
            let (status, output) = try await Chromium.run(page, ["--dump-dom"])
            #expect(status == 0, "\(output.suffix(2000))")
            let dom = try #require(output.range(of: "<html").map { String(output[$0.lowerBound...]) })
            let elements = DOMElements(dom)
            for id in ["health-score", "health-trend", "health-metrics", "risk-heatmap", "risk-list", "plan-vs-actual", "capacity",
                       "children", "objectives", "initiatives", "commitments", "sla-credits"] {
                #expect(elements.all.contains { $0["id"] == id }, "\(id) in the rendered page")
            }
            let childTrend = try #require(api["health"]?["child_trends"]?.arrayValue?.first { $0["code"] == "ACME-MITS" }?["trend"]?.arrayValue)
            #expect(childTrend.count == 12)
            #expect(elements.marked(["class": "point", "data-engagement": "ACME-MITS"]).map { "\($0["data-period"]!)=\($0["data-value"]!)" }
                    == childTrend.map { "\($0["period"]!.stringValue!)=\(lexeme($0["score"]))" })
            let months = try #require(api["months"]?.arrayValue)
            let revenue = months.map { month in lexeme(month["money"]?.arrayValue?.first { $0["currency"] == "EUR" }?["revenue_actual"]) }
            #expect(revenue.filter { !$0.isEmpty }.count == 12, "\(revenue)")
            #expect(elements.marked(["id": nil, "data-series": "revenue", "data-kind": "actual"]).map { $0["data-value"] ?? "" } == revenue)
            #expect(elements.marked(["data-series": "hours", "data-kind": "planned"]).isEmpty, "plan, not planned")
            #expect(elements.marked(["data-series": "hours", "data-kind": "plan"]).map { $0["data-value"] ?? "" }
                    == months.map { lexeme($0["planned_hours"]) })
            let grid = try #require(api["risk_grid"]?.arrayValue)
            #expect(grid.count == 20 && grid.compactMap { $0["count"]?.intValue }.reduce(0, +) == 3)
            #expect(elements.marked(["class": "cell"]).map { "\($0["data-probability"]!)/\($0["data-impact"]!)=\($0["data-value"]!)" }.sorted()
                    == grid.map { "\($0["probability"]!.stringValue!)/\($0["impact"]!.stringValue!)=\(lexeme($0["count"]))" }.sorted())
            #expect(elements.marked(["data-probability": "high", "data-impact": "critical"]).first?["data-value"] == "2")
            let apiChild = try #require(api["children"]?.arrayValue?.first)
            #expect(elements.marked(["data-code": "ACME-MITS"]).first?["data-band"] == apiChild["band"]?.stringValue)
            let credits = try #require(api["sla_credits"]?.arrayValue?.first)
            #expect(credits["breaches"]?.intValue ?? 0 > 0, "the imported availability breached its SLA: \(credits)")
            #expect(elements.marked(["data-currency": "EUR"]).first?["data-value"] == lexeme(credits["credits"]))
            #expect(dom.contains("Risk &lt;high&gt;") && dom.contains("Fewer tickets &amp; faster"), "text escaped, not markup")

            // It prints, and it paints.
            let pdf = directory.appendingPathComponent("report.pdf"), png = directory.appendingPathComponent("report.png")
            _ = try await Chromium.run(page, ["--print-to-pdf=\(pdf.path)", "--no-pdf-header-footer"])
            _ = try await Chromium.run(page, ["--screenshot=\(png.path)", "--window-size=900,2400"])
            let pdfBytes = try Data(contentsOf: pdf), pngBytes = try Data(contentsOf: png)
            #expect(pdfBytes.prefix(5) == Data("%PDF-".utf8) && pdfBytes.count > 10_000, "\(pdfBytes.count) bytes of PDF")
            #expect(pngBytes.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]) && pngBytes.count > 20_000, "\(pngBytes.count) bytes of PNG")
        }
    }

    func lexeme(_ value: JSONValue?) -> String {
        switch value {
        case .number(let text)?: text
        case .string(let text)?: text
        default: ""
        }
    }
}

/// The start tags of a serialised DOM with their attributes, in document order.
struct DOMElements {
    let all: [[String: String]]

    init(_ html: String) {
        var elements: [[String: String]] = []
        let tag = #/<([a-zA-Z][a-zA-Z0-9]*)((?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:="[^"]*")?)*)\s*/?>/#
        let attribute = #/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:="([^"]*)")?/#
        for match in html.matches(of: tag) {
            var element = ["": String(match.output.1)]
            for pair in String(match.output.2).matches(of: attribute) {
                element[String(pair.output.1)] = pair.output.2.map(String.init) ?? ""
            }
            elements.append(element)
        }
        all = elements
    }

    /// The elements whose attributes have these values (nil: the attribute is absent).
    func marked(_ attributes: [String: String?]) -> [[String: String]] {
        all.filter { element in attributes.allSatisfy { element[$0.key] == $0.value } }
    }
}

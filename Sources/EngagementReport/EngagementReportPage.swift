import JSONRPC

/// The visual engagement report: `report.engagement`'s answer as one self-contained HTML page (inline CSS and
/// SVG; no scripts, fonts or images from anywhere), readable on screen and printed to PDF. Each chart has an id
/// and each mark its value as the API gave it, so a test can compare the page with the API.
public enum EngagementReportPage {
    public static func render(_ report: JSONValue) -> String {
        let engagement = report["engagement"]
        let title = "\(engagement?["code"].text ?? "") — \(engagement?["name"].text ?? "")"
        var body = header(report)
        body += section("health", "Health", healthSection(report))
        body += section("risks", "Risks", riskSection(report))
        body += section("plan-vs-actual-section", "Plan vs actual", planSection(report))
        body += section("hierarchy", "Hierarchy", childrenSection(report))
        body += section("success", "Objectives and initiatives", successSection(report))
        body += section("commercial", "Commitments and SLA credits", commercialSection(report))
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTMLText(title))</title>
            <style>\(style)</style></head>
            <body><main>
            \(body)
            <footer>engagement-service · report.engagement · generated \(report["generated_at"].html)</footer>
            </main></body></html>

            """
    }

    static let style = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#212121;margin:0;background:#fafafa}
        main{max-width:900px;margin:0 auto;padding:24px;background:#fff}
        h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 10px;border-bottom:1px solid #e0e0e0;padding-bottom:4px}
        section{margin:22px 0;break-inside:avoid}.meta{color:#616161}.chart{width:100%;height:auto;display:block}
        .chart.small{max-width:420px}.chart.bars{max-width:640px}.axis{font-size:11px;fill:#757575}.note{font-size:12px;fill:#424242}.count{font-size:18px;font-weight:600}
        svg text{font-family:inherit}table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 8px;border-bottom:1px solid #eee}
        .badge{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600}
        .band-red{background:#c62828}.band-amber{background:#f9a825;color:#212121}.band-green{background:#2e7d32}.band-unknown{background:#9e9e9e}
        .score{float:right;text-align:right}.score .value{font-size:34px;font-weight:700;display:block}.score .caption{display:block;font-size:11px;color:#757575}
        .legend span{margin-right:14px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
        .empty{color:#9e9e9e;font-style:italic}footer{color:#9e9e9e;font-size:12px;margin-top:28px}
        @media print{body{background:#fff}main{padding:0;max-width:none}section{break-inside:avoid}}
        """

    static func section(_ id: String, _ title: String, _ content: String) -> String {
        "<section id=\"\(id)\"><h2>\(HTMLText(title))</h2>\(content)</section>\n"
    }

    static func badge(_ band: String) -> String {
        "<span class=\"badge band-\(HTMLText(band))\">\(HTMLText(band))</span>"
    }

    static func header(_ report: JSONValue) -> String {
        let engagement = report["engagement"]
        let health = report["health"]
        let size = report["subtree_size"]?.intValue ?? 1
        var facts = [engagement?["customer"]?["name"].text, engagement?["service"]?["name"].text,
                     engagement?["status"].text.spaced, engagement?["journey_stage"].text]
            .compactMap { $0 }.filter { !$0.isEmpty }.map { HTMLText($0).description }
        let start = engagement?["start_date"].text ?? "", end = engagement?["end_date"].text ?? ""
        if !start.isEmpty || !end.isEmpty { facts.append("\(HTMLText(start)) – \(HTMLText(end))") }
        let scope = size > 1 ? "This engagement and its \(size - 1) descendants" : "This engagement"
        return """
            <header>
            <div class="score" id="health-score" data-value="\(health?["score"].html ?? HTMLText(""))" data-band="\(health?["band"].html ?? HTMLText(""))">
            <span class="value">\(health?["score"].number.map { display($0) } ?? "–")</span><span class="caption">\(health?["score"].number == nil ? "no score of its own" : "health score")</span>\(badge(health?["band"].text ?? "unknown"))</div>
            <h1>\(HTMLText(engagement?["code"].text ?? "")) — \(HTMLText(engagement?["name"].text ?? ""))</h1>
            <div class="meta">\(facts.joined(separator: " · "))</div>
            <div class="meta">\(scope), \(report["from"].html) to \(report["to"].html)</div>
            </header>

            """
    }

    static func healthSection(_ report: JSONValue) -> String {
        let health = report["health"]
        let model = health?["model"]
        func points(_ trend: [JSONValue]) -> [(period: String, score: String, band: String)] {
            trend.map { ($0["period"].text, $0["score"].text, $0["band"].text.isEmpty ? "unknown" : $0["band"].text) }
        }
        var series = [(code: report["engagement"]?["code"].text ?? "", points: points(health?["trend"].items ?? []))]
        series += (health?["child_trends"].items ?? []).map { ($0["code"].text, points($0["trend"].items)) }
        series.removeAll { $0.points.isEmpty }
        var html = "<p class=\"meta\">Monthly score against the bands of the health model \(HTMLText(model?["name"].text ?? ""))"
        html += series.count > 1 || (series.first.map { $0.code != report["engagement"]?["code"].text } ?? false)
            ? ", one line per engagement: \(series.map { HTMLText($0.code).description }.joined(separator: ", ")).</p>" : ".</p>"
        html += SVGCharts.healthTrend(
            months: report["months"].items.map { $0["period"].text }, series: series,
            redBelow: model?["red_below"].number, amberBelow: model?["amber_below"].number)
        let metrics = health?["metrics"].items ?? []
        html += "<h3>Current score by metric</h3>"
        html += metrics.isEmpty
            ? "<p class=\"empty\" id=\"health-metrics\">No metric has data yet.</p>"
            : SVGCharts.bars(id: "health-metrics", metrics.map { metric in
                let name = metric["metric"].text.spaced
                let label = metric["kpi"].text.isEmpty ? name : "\(name): \(metric["kpi"].text)"
                return (label, metric["normalised"].text, "score \(metric["normalised"].number.map { display($0) } ?? "–") · weight \(metric["weight"].text)", "#546e7a")
            }, maximum: 100)
        return html
    }

    static func riskSection(_ report: JSONValue) -> String {
        let grid = report["risk_grid"].items.map { ($0["probability"].text, $0["impact"].text, $0["severity"].text, $0["count"].text) }
        var html = "<p class=\"meta\">Open and mitigating risks by probability and impact.</p>" + SVGCharts.riskHeatMap(grid)
        let risks = report["risks"].items
        if risks.isEmpty { return html + "<p class=\"empty\">No open risk.</p>" }
        html += "<table id=\"risk-list\"><tr><th>Risk</th><th>Engagement</th><th>Severity</th><th>Status</th></tr>"
        for risk in risks {
            html += "<tr data-id=\"\(risk["id"].html)\"><td>\(risk["title"].html)</td><td>\(risk["engagement_code"].html)</td><td>\(risk["severity"].html)</td><td>\(risk["status"].html)</td></tr>"
        }
        return html + "</table>"
    }

    static func planSection(_ report: JSONValue) -> String {
        let months = report["months"].items
        let periods = months.map { $0["period"].text }
        // The money of the currency with the most planned or actual revenue (an account can span currencies;
        // the others are listed under the chart).
        var totals: [String: Double] = [:]
        for month in months {
            for money in month["money"].items {
                totals[money["currency"].text, default: 0] += (money["revenue_plan"].number ?? 0) + (money["revenue_actual"].number ?? 0)
                    + (money["cost_plan"].number ?? 0) + (money["cost_actual"].number ?? 0)
            }
        }
        let currencies = totals.sorted { $0.value == $1.value ? $0.key < $1.key : $0.value > $1.value }.map(\.key)
        var html = ""
        if let currency = currencies.first {
            func series(_ member: String) -> [String] {
                months.map { month in month["money"].items.first { $0["currency"].text == currency }?[member].text ?? "" }
            }
            html += "<h3>Money per month, \(HTMLText(currency))</h3>"
            html += "<p class=\"legend\"><span><i style=\"background:#1565c0\"></i>revenue</span><span><i style=\"background:#ef6c00\"></i>cost</span> light: plan, dark: actual</p>"
            html += SVGCharts.planVersusActual(id: "plan-vs-actual", months: periods, series: [
                ("revenue", "#1565c0", series("revenue_plan"), series("revenue_actual")),
                ("cost", "#ef6c00", series("cost_plan"), series("cost_actual")),
            ])
            if currencies.count > 1 {
                html += "<p class=\"meta\">Also in \(currencies.dropFirst().map { HTMLText($0).description }.joined(separator: ", ")) (report.plan_vs_actual has each).</p>"
            }
        } else {
            html += "<p class=\"empty\" id=\"plan-vs-actual\">No finance lines in this range.</p>"
        }
        html += "<h3>Capacity per month, hours</h3>"
        html += SVGCharts.planVersusActual(id: "capacity", months: periods, series: [
            ("hours", "#6a1b9a", months.map { $0["planned_hours"].text }, months.map { $0["actual_hours"].text }),
        ])
        return html
    }

    static func childrenSection(_ report: JSONValue) -> String {
        let children = report["children"].items
        if children.isEmpty { return "<p class=\"empty\" id=\"children\">No child engagements.</p>" }
        var html = "<table id=\"children\"><tr><th>Engagement</th><th>Status</th><th>Score</th><th>Band</th></tr>"
        for child in children {
            html += "<tr data-code=\"\(child["code"].html)\" data-band=\"\(child["band"].html)\" data-value=\"\(child["score"].html)\"><td>\(child["code"].html) — \(child["name"].html)</td><td>\(child["status"].html)</td><td>\(child["score"].number.map { display($0) } ?? "–")</td><td>\(badge(child["band"].text))</td></tr>"
        }
        return html + "</table>"
    }

    static func successSection(_ report: JSONValue) -> String {
        let objectives = report["objectives"].items
        var html = ""
        if objectives.isEmpty {
            html += "<p class=\"empty\" id=\"objectives\">No objectives.</p>"
        } else {
            html += "<table id=\"objectives\"><tr><th>Objective</th><th>Status</th><th>Target</th></tr>"
            for objective in objectives {
                html += "<tr data-status=\"\(objective["status"].html)\"><td>\(objective["title"].html)</td><td>\(HTMLText(objective["status"].text.spaced))</td><td>\(objective["target_date"].html)</td></tr>"
            }
            html += "</table>"
        }
        let stages = ["planned", "in_progress", "done", "cancelled"]
        let counts = stages.map { report["initiatives_by_stage"]?[$0].text ?? "0" }
        html += "<h3>Initiatives by stage</h3>"
        html += SVGCharts.bars(id: "initiatives", zip(stages, counts).map { stage, count in
            (stage.spaced, count, count, "#00838f")
        }, maximum: max(counts.compactMap { Double($0) }.max() ?? 0, 1))
        return html
    }

    static func commercialSection(_ report: JSONValue) -> String {
        let commitments = report["commitments"]
        let byStatus = commitments?["by_status"]?.objectValue?.members ?? []
        let delivered = commitments?["delivered"]?.boolValue ?? true
        var html = "<p id=\"commitments\" data-delivered=\"\(delivered)\">Did we deliver? <strong>\(byStatus.isEmpty ? "no commitments" : delivered ? "yes, nothing lapsed" : "no: commitments lapsed")</strong></p>"
        if !byStatus.isEmpty {
            html += SVGCharts.bars(id: "commitments-by-status", byStatus.map { ($0.key.spaced, $0.value.text, $0.value.text, "#5d4037") },
                                   maximum: max(byStatus.compactMap { $0.value.number }.max() ?? 0, 1))
        }
        let credits = report["sla_credits"].items
        html += "<h3>SLA credits</h3>"
        if credits.isEmpty { return html + "<p class=\"empty\" id=\"sla-credits\">No SLA credits in this range.</p>" }
        html += "<table id=\"sla-credits\"><tr><th>Currency</th><th>Credits</th><th>Periods breached</th></tr>"
        for credit in credits {
            html += "<tr data-currency=\"\(credit["currency"].html)\" data-value=\"\(credit["credits"].html)\"><td>\(credit["currency"].html)</td><td>\(credit["credits"].html)</td><td>\(credit["breaches"].html)</td></tr>"
        }
        return html + "</table>"
    }
}

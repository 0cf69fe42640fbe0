/// The report's charts as inline SVG: no scripts, no fonts or images from anywhere, so the page is one file that
/// prints. Every mark carries its value as the API gave it (`data-value`), which is what the report's test reads.
enum SVGCharts {
    static let colours = ["red": "#c62828", "amber": "#f9a825", "green": "#2e7d32", "unknown": "#9e9e9e"]

    /// One line per engagement of monthly scores (0–100) over the bands of the health model: red below
    /// `redBelow`, amber below `amberBelow`, green above. The months are the report's range; the first series is
    /// drawn boldest.
    static func healthTrend(
        months: [String], series: [(code: String, points: [(period: String, score: String, band: String)])],
        redBelow: Double?, amberBelow: Double?
    ) -> String {
        let width = 640.0, height = 220.0, left = 36.0, right = 12.0, top = 10.0, bottom = 28.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func y(_ score: Double) -> Double { top + plotHeight * (1 - min(max(score, 0), 100) / 100) }
        let step = months.count > 1 ? plotWidth / Double(months.count - 1) : 0
        func x(_ index: Int) -> Double { months.count > 1 ? left + step * Double(index) : left + plotWidth / 2 }
        var svg = ##"<svg id="health-trend" class="chart" viewBox="0 0 \##(coordinate(width)) \##(coordinate(height))" role="img" aria-label="Health score per month">"##
        let bands = redBelow.flatMap { red in amberBelow.map { amber in [("green", amber, 100.0), ("amber", red, amber), ("red", 0.0, red)] } } ?? []
        for (band, from, to) in bands where to > from {
            svg += ##"<rect class="band band-\##(band)" x="\##(coordinate(left))" y="\##(coordinate(y(to)))" width="\##(coordinate(plotWidth))" height="\##(coordinate(y(from) - y(to)))" fill="\##(colours[band]!)" fill-opacity="0.12"/>"##
        }
        for tick in [0.0, 25, 50, 75, 100] {
            svg += ##"<text x="\##(coordinate(left - 6))" y="\##(coordinate(y(tick) + 4))" text-anchor="end" class="axis">\##(Int(tick))</text>"##
        }
        for (index, month) in months.enumerated() {
            svg += ##"<text x="\##(coordinate(x(index)))" y="\##(coordinate(height - 8))" text-anchor="middle" class="axis">\##(HTMLText(String(month.suffix(2))))</text>"##
        }
        let strokes = ["#263238", "#5c6bc0", "#8d6e63", "#26a69a", "#ab47bc", "#78909c"]
        for (number, line) in series.enumerated() {
            let scored = line.points.compactMap { point in
                months.firstIndex(of: point.period).flatMap { index in Double(point.score).map { (index, $0, point) } }
            }
            let stroke = strokes[number % strokes.count]
            svg += ##"<g class="series" data-engagement="\##(HTMLText(line.code))">"##
            if scored.count > 1 {
                let path = scored.map { "\(coordinate(x($0.0))),\(coordinate(y($0.1)))" }.joined(separator: " ")
                svg += ##"<polyline points="\##(path)" fill="none" stroke="\##(stroke)" stroke-width="\##(number == 0 ? 2.5 : 1.5)"/>"##
            }
            for (index, score, point) in scored {
                svg += ##"<circle class="point" cx="\##(coordinate(x(index)))" cy="\##(coordinate(y(score)))" r="\##(number == 0 ? 4 : 3)" fill="\##(colours[point.band] ?? "#9e9e9e")" stroke="\##(stroke)" data-engagement="\##(HTMLText(line.code))" data-period="\##(HTMLText(point.period))" data-value="\##(HTMLText(point.score))" data-band="\##(HTMLText(point.band))"><title>\##(HTMLText(line.code)) \##(HTMLText(point.period)): \##(HTMLText(point.score)) (\##(HTMLText(point.band)))</title></circle>"##
            }
            svg += "</g>"
        }
        return svg + "</svg>"
    }

    /// Horizontal bars, one per row, each as long as its value on a 0–`maximum` scale, with a note beside it.
    static func bars(id: String, _ rows: [(label: String, value: String, note: String, colour: String)], maximum: Double) -> String {
        let width = 640.0, rowHeight = 26.0, labelWidth = 200.0, barSpace = 300.0
        let height = max(rowHeight * Double(rows.count), rowHeight)
        var svg = ##"<svg id="\##(id)" class="chart bars" viewBox="0 0 \##(coordinate(width)) \##(coordinate(height))" role="img">"##
        for (index, row) in rows.enumerated() {
            let y = rowHeight * Double(index)
            let length = maximum > 0 ? barSpace * min(max(Double(row.value) ?? 0, 0), maximum) / maximum : 0
            svg += ##"<text x="\##(coordinate(labelWidth - 8))" y="\##(coordinate(y + 17))" text-anchor="end">\##(HTMLText(row.label))</text>"##
            svg += ##"<rect class="bar" x="\##(coordinate(labelWidth))" y="\##(coordinate(y + 5))" width="\##(coordinate(length))" height="16" fill="\##(row.colour)" data-label="\##(HTMLText(row.label))" data-value="\##(HTMLText(row.value))"/>"##
            svg += ##"<text x="\##(coordinate(labelWidth + length + 6))" y="\##(coordinate(y + 17))" class="note">\##(HTMLText(row.note))</text>"##
        }
        return svg + "</svg>"
    }

    /// Pairs of bars per month: plan (light) and actual (dark) of one or more series.
    static func planVersusActual(
        id: String, months: [String], series: [(name: String, colour: String, plan: [String], actual: [String])]
    ) -> String {
        let width = 640.0, height = 220.0, left = 56.0, top = 10.0, bottom = 28.0
        let plotHeight = height - top - bottom, plotWidth = width - left - 8
        let values = series.flatMap { ($0.plan + $0.actual).compactMap { Double($0) } }
        let maximum = max(values.max() ?? 0, 1)
        let slot = months.isEmpty ? plotWidth : plotWidth / Double(months.count)
        let barWidth = max(slot / Double(max(series.count * 2, 1)) - 1, 1)
        var svg = ##"<svg id="\##(id)" class="chart" viewBox="0 0 \##(coordinate(width)) \##(coordinate(height))" role="img">"##
        for fraction in [0.0, 0.5, 1.0] {
            let y = top + plotHeight * (1 - fraction)
            svg += ##"<line x1="\##(coordinate(left))" x2="\##(coordinate(width - 8))" y1="\##(coordinate(y))" y2="\##(coordinate(y))" stroke="#e0e0e0"/>"##
            svg += ##"<text x="\##(coordinate(left - 6))" y="\##(coordinate(y + 4))" text-anchor="end" class="axis">\##(display(maximum * fraction))</text>"##
        }
        for (monthIndex, month) in months.enumerated() {
            var x = left + slot * Double(monthIndex) + 1
            for item in series {
                for (kind, values, opacity) in [("plan", item.plan, "0.35"), ("actual", item.actual, "1")] {
                    let text = monthIndex < values.count ? values[monthIndex] : ""
                    let value = Double(text) ?? 0
                    let barHeight = plotHeight * max(value, 0) / maximum
                    svg += ##"<rect class="bar" x="\##(coordinate(x))" y="\##(coordinate(top + plotHeight - barHeight))" width="\##(coordinate(barWidth))" height="\##(coordinate(barHeight))" fill="\##(item.colour)" fill-opacity="\##(opacity)" data-series="\##(HTMLText(item.name))" data-kind="\##(kind)" data-period="\##(HTMLText(month))" data-value="\##(HTMLText(text))"><title>\##(HTMLText(month)) \##(HTMLText(item.name)) \##(kind): \##(HTMLText(text.isEmpty ? "none" : text))</title></rect>"##
                    x += barWidth + 1
                }
            }
            svg += ##"<text x="\##(coordinate(left + slot * (Double(monthIndex) + 0.5)))" y="\##(coordinate(height - 8))" text-anchor="middle" class="axis">\##(HTMLText(String(month.suffix(2))))</text>"##
        }
        return svg + "</svg>"
    }

    /// The probability × impact grid: each cell the number of risks there, coloured by its severity.
    static func riskHeatMap(_ cells: [(probability: String, impact: String, severity: String, count: String)]) -> String {
        var probabilities: [String] = [], impacts: [String] = []
        for cell in cells {
            if !probabilities.contains(cell.probability) { probabilities.append(cell.probability) }
            if !impacts.contains(cell.impact) { impacts.append(cell.impact) }
        }
        let size = 70.0, left = 90.0, top = 8.0, bottom = 36.0
        let width = left + size * Double(impacts.count) + 8, height = top + size * Double(probabilities.count) + bottom
        let shades = ["low": "#c8e6c9", "medium": "#fff59d", "high": "#ffcc80", "critical": "#ef9a9a"]
        var svg = ##"<svg id="risk-heatmap" class="chart small" viewBox="0 0 \##(coordinate(width)) \##(coordinate(height))" role="img" aria-label="Risks by probability and impact">"##
        for cell in cells {
            guard let row = probabilities.firstIndex(of: cell.probability), let column = impacts.firstIndex(of: cell.impact) else { continue }
            // Probability grows upwards.
            let x = left + size * Double(column), y = top + size * Double(probabilities.count - 1 - row)
            svg += ##"<rect class="cell" x="\##(coordinate(x))" y="\##(coordinate(y))" width="\##(coordinate(size - 2))" height="\##(coordinate(size - 2))" fill="\##(shades[cell.severity] ?? "#eeeeee")" data-probability="\##(HTMLText(cell.probability))" data-impact="\##(HTMLText(cell.impact))" data-severity="\##(HTMLText(cell.severity))" data-value="\##(HTMLText(cell.count))"/>"##
            if cell.count != "0" {
                svg += ##"<text x="\##(coordinate(x + size / 2 - 1))" y="\##(coordinate(y + size / 2 + 6))" text-anchor="middle" class="count">\##(HTMLText(cell.count))</text>"##
            }
        }
        for (index, probability) in probabilities.enumerated() {
            let y = top + size * Double(probabilities.count - 1 - index)
            svg += ##"<text x="\##(coordinate(left - 6))" y="\##(coordinate(y + size / 2 + 4))" text-anchor="end" class="axis">\##(HTMLText(probability.spaced))</text>"##
        }
        for (column, impact) in impacts.enumerated() {
            svg += ##"<text x="\##(coordinate(left + size * (Double(column) + 0.5)))" y="\##(coordinate(height - 18))" text-anchor="middle" class="axis">\##(HTMLText(impact))</text>"##
        }
        svg += ##"<text x="\##(coordinate(left + size * Double(impacts.count) / 2))" y="\##(coordinate(height - 2))" text-anchor="middle" class="axis">impact →</text>"##
        return svg + "</svg>"
    }
}

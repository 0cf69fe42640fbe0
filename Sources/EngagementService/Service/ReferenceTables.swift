import JSONRPC

/// The tables of the README and the protocol reference that restate what the code declares: rendered from the
/// method registry and the configuration options, spliced between `<!-- generated:NAME -->` and
/// `<!-- /generated:NAME -->` markers by `engagementd docs --write`, and checked by a test that fails when a
/// document differs from what the code says.
public enum ReferenceTables {
    /// A generated section: where it lives and how it is rendered.
    public struct Section: Sendable {
        public let document: String
        public let name: String
        public let render: @Sendable () -> String
    }

    public static let sections: [Section] = [
        Section(document: "docs/protocol.md", name: "methods") { methods(.standard()) },
        Section(document: "README.md", name: "configuration") { configuration(ServerConfiguration.options) },
        Section(document: "docs/spreadsheets.md", name: "columns") { spreadsheetColumns(.standard()) },
    ]

    /// One row per method: name, who may call it, summary, params (`?` marks optional ones).
    public static func methods(_ registry: MethodRegistry) -> String {
        var lines = ["| Method | Role | What | Params |", "|---|---|---|---|"]
        for method in registry.definitions {
            let role: String
            switch method.access {
            case .anonymous: role = "none"
            case .role(let minimum): role = minimum.rawValue
            }
            let params = method.params.map { "`\($0.name)`" + ($0.required ? "" : "?") }.joined(separator: ", ")
            lines.append("| `\(method.name)` | \(role) | \(cell(method.summary)) | \(params) |")
        }
        return lines.joined(separator: "\n")
    }

    public static func configuration(_ options: [ServerConfiguration.Option]) -> String {
        var lines = ["| Variable | Default | Meaning |", "|---|---|---|"]
        for option in options {
            let value = option.defaultValue
            let shown = value.hasPrefix("(") && value.hasSuffix(")") ? String(value.dropFirst().dropLast()) : "`\(value)`"
            lines.append("| `\(option.variable)` | \(cell(shown)) | \(cell(option.summary)) |")
        }
        return lines.joined(separator: "\n")
    }

    /// The columns of every bulk import method (the `values` of its rows), one table per method.
    public static func spreadsheetColumns(_ registry: MethodRegistry) -> String {
        var parts: [String] = []
        for method in registry.definitions {
            guard let rows = method.params.first(where: { $0.name == "rows" }), case .array(let item, _) = rows.schema,
                case .object(let fields, _) = item, let values = fields.first(where: { $0.name == "values" }),
                case .object(let columns, _) = values.schema
            else { continue }
            var lines = ["#### `\(method.name)`", "", cell(method.summary) + " Columns: " + values.summary + ".", "",
                         "| Column | Type | What |", "|---|---|---|"]
            for column in columns {
                let type = column.schema.jsonSchema["type"]?.stringValue ?? column.schema.jsonSchema["anyOf"]?[0]?["type"]?.stringValue ?? "any"
                lines.append("| `\(column.name)` | \(type) | \(cell(column.summary)) |")
            }
            parts.append(lines.joined(separator: "\n"))
        }
        return parts.joined(separator: "\n\n")
    }

    /// `document` with the section `name` replaced by `content`; nil when the markers are missing.
    public static func splice(_ document: String, name: String, content: String) -> String? {
        let begin = "<!-- generated:\(name) -->"
        let end = "<!-- /generated:\(name) -->"
        guard let start = document.range(of: begin), let stop = document.range(of: end, range: start.upperBound..<document.endIndex)
        else { return nil }
        return String(document[..<start.upperBound]) + "\n" + content + "\n" + String(document[stop.lowerBound...])
    }

    private static func cell(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }
}

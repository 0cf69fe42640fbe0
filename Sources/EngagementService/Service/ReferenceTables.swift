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

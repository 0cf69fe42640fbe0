import JSONRPC

/// Text made safe for HTML (element content and quoted attribute values alike).
struct HTMLText: CustomStringConvertible {
    let description: String

    init(_ text: String) {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        description = escaped
    }
}

/// Reading the report's JSON: text of any value, numbers as the API wrote them and as doubles for drawing.
extension JSONValue {
    /// The value as text: a string as is, a number as its lexeme, null and absent as "".
    var text: String {
        switch self {
        case .string(let value): value
        case .number(let lexeme): lexeme
        case .bool(let flag): flag ? "true" : "false"
        default: ""
        }
    }

    var number: Double? {
        if case .number(let lexeme) = self { return Double(lexeme) }
        return nil
    }

    var html: HTMLText { HTMLText(text) }
}

extension Optional where Wrapped == JSONValue {
    var text: String { self?.text ?? "" }
    var number: Double? { self?.number }
    var html: HTMLText { HTMLText(text) }
    var items: [JSONValue] { self?.arrayValue ?? [] }
}

/// A number for a chart's coordinates: short, no exponent.
func coordinate(_ value: Double) -> String {
    let rounded = (value * 10).rounded() / 10
    return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
}

/// A number for people: thousands grouped, rounded to whole units (amounts and hours on a one-page report).
func display(_ value: Double) -> String {
    let whole = Int(value.rounded())
    var digits = String(abs(whole))
    var grouped = ""
    while digits.count > 3 {
        grouped = "," + digits.suffix(3) + grouped
        digits = String(digits.dropLast(3))
    }
    return (whole < 0 ? "−" : "") + digits + grouped
}

extension String {
    /// snake_case words for people: `in_progress` → `in progress`.
    var spaced: String { String(map { $0 == "_" ? " " : $0 }) }
}

/// The subset of JSON Schema the method registry uses. One declaration serves twice: it validates params
/// (with field paths in the errors) and it is rendered into the OpenRPC document, so the two cannot drift.
public indirect enum Schema: Sendable {
    case string(minLength: Int = 0, maxLength: Int? = nil, format: String? = nil, pattern: String? = nil)
    case integer(minimum: Int? = nil, maximum: Int? = nil)
    /// Any JSON number (its exact text is kept and handed to PostgreSQL as numeric).
    case number
    /// A JSON number within bounds (checked on its value; the exact text still goes to PostgreSQL).
    case numberInRange(minimum: Double?, maximum: Double?)
    case boolean
    /// A string of a fixed set of values.
    case enumeration([String])
    case array(items: Schema, maxItems: Int? = nil)
    case object([Field], additionalProperties: Bool = false)
    /// An object whose keys are data (currency codes, months) and whose values all have one schema.
    case dictionary(values: Schema)
    /// Any JSON value; used for results whose shape is described in prose.
    case any(description: String)
    /// The schema, or JSON null (to clear an optional value in an update).
    case nullable(Schema)

    public static let uuid = Schema.string(minLength: 36, maxLength: 36, format: "uuid")
    public static let nonNegativeNumber = Schema.numberInRange(minimum: 0, maximum: nil)

    public struct Field: Sendable {
        public let name: String
        public let schema: Schema
        public let required: Bool
        public let summary: String

        public init(_ name: String, _ schema: Schema, required: Bool = true, _ summary: String) {
            self.name = name
            self.schema = schema
            self.required = required
            self.summary = summary
        }
    }

    /// The JSON Schema document for this schema.
    public var jsonSchema: JSONValue {
        switch self {
        case .string(let minLength, let maxLength, let format, let pattern):
            var object: JSONObject = ["type": "string"]
            if minLength > 0 { object["minLength"] = .number(String(minLength)) }
            if let maxLength { object["maxLength"] = .number(String(maxLength)) }
            if let format { object["format"] = .string(format) }
            if let pattern { object["pattern"] = .string(pattern) }
            return .object(object)
        case .integer(let minimum, let maximum):
            var object: JSONObject = ["type": "integer"]
            if let minimum { object["minimum"] = .number(String(minimum)) }
            if let maximum { object["maximum"] = .number(String(maximum)) }
            return .object(object)
        case .number:
            return .object(["type": "number"])
        case .numberInRange(let minimum, let maximum):
            var object: JSONObject = ["type": "number"]
            if let minimum { object["minimum"] = .number(Self.lexeme(minimum)) }
            if let maximum { object["maximum"] = .number(Self.lexeme(maximum)) }
            return .object(object)
        case .boolean:
            return .object(["type": "boolean"])
        case .enumeration(let values):
            return .object(["type": "string", "enum": .array(values.map { .string($0) })])
        case .array(let items, let maxItems):
            var object: JSONObject = ["type": "array", "items": items.jsonSchema]
            if let maxItems { object["maxItems"] = .number(String(maxItems)) }
            return .object(object)
        case .object(let fields, let additional):
            var properties = JSONObject()
            for field in fields {
                var property = field.schema.jsonSchema.objectValue ?? JSONObject()
                property["description"] = .string(field.summary)
                properties[field.name] = .object(property)
            }
            return .object([
                "type": "object", "properties": .object(properties),
                "required": .array(fields.filter(\.required).map { .string($0.name) }),
                "additionalProperties": .bool(additional),
            ])
        case .dictionary(let values):
            return .object(["type": "object", "additionalProperties": values.jsonSchema])
        case .any(let description):
            return .object(["description": .string(description)])
        case .nullable(let schema):
            return .object(["anyOf": .array([schema.jsonSchema, .object(["type": "null"])])])
        }
    }

    /// Every way `value` breaks this schema, each with its path.
    public func problems(in value: JSONValue, at path: String) -> [FieldProblem] {
        func problem(_ message: String) -> [FieldProblem] { [FieldProblem(path: path, message: message)] }
        switch self {
        case .string(let minLength, let maxLength, let format, let pattern):
            guard case .string(let string) = value else { return problem("expected a string, got \(value.typeName)") }
            let length = string.count
            if length < minLength { return problem("must be at least \(minLength) characters") }
            if let maxLength, length > maxLength { return problem("must be at most \(maxLength) characters") }
            if format == "uuid", !Self.isUUID(string) { return problem("must be a UUID") }
            if let pattern, (try? Regex(pattern).wholeMatch(in: string)) == nil {
                return problem("must match \(pattern)")
            }
            return []
        case .integer(let minimum, let maximum):
            guard let integer = value.intValue else { return problem("expected an integer, got \(value.typeName)") }
            if let minimum, integer < minimum { return problem("must be at least \(minimum)") }
            if let maximum, integer > maximum { return problem("must be at most \(maximum)") }
            return []
        case .number:
            if case .number = value { return [] }
            return problem("expected a number, got \(value.typeName)")
        case .numberInRange(let minimum, let maximum):
            guard case .number(let lexeme) = value, let number = Double(lexeme) else {
                return problem("expected a number, got \(value.typeName)")
            }
            if let minimum, number < minimum { return problem("must be at least \(Self.lexeme(minimum))") }
            if let maximum, number > maximum { return problem("must be at most \(Self.lexeme(maximum))") }
            return []
        case .boolean:
            return value.boolValue == nil ? problem("expected a boolean, got \(value.typeName)") : []
        case .enumeration(let values):
            guard let string = value.stringValue, values.contains(string) else {
                return problem("must be one of: \(values.joined(separator: ", "))")
            }
            return []
        case .array(let items, let maxItems):
            guard let elements = value.arrayValue else { return problem("expected an array, got \(value.typeName)") }
            if let maxItems, elements.count > maxItems { return problem("must have at most \(maxItems) items") }
            return elements.enumerated().flatMap { items.problems(in: $1, at: "\(path)[\($0)]") }
        case .object(let fields, let additional):
            guard let object = value.objectValue else { return problem("expected an object, got \(value.typeName)") }
            var found: [FieldProblem] = []
            for field in fields {
                let fieldPath = "\(path).\(field.name)"
                if let member = object[field.name] {
                    found += field.schema.problems(in: member, at: fieldPath)
                } else if field.required {
                    found.append(FieldProblem(path: fieldPath, message: "is required"))
                }
            }
            if !additional {
                let known = Set(fields.map(\.name))
                for key in object.keys where !known.contains(key) {
                    found.append(FieldProblem(path: "\(path).\(key)", message: "is not a known parameter"))
                }
            }
            return found
        case .dictionary(let values):
            guard let object = value.objectValue else { return problem("expected an object, got \(value.typeName)") }
            return object.members.flatMap { values.problems(in: $0.value, at: "\(path).\($0.key)") }
        case .any:
            return []
        case .nullable(let schema):
            return value == .null ? [] : schema.problems(in: value, at: path)
        }
    }

    /// A bound as JSON text: 0 rather than 0.0.
    static func lexeme(_ bound: Double) -> String {
        bound == bound.rounded() && abs(bound) < 1e15 ? String(Int(bound)) : String(bound)
    }

    static func isUUID(_ string: String) -> Bool {
        let bytes = Array(string.utf8)
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                if byte != UInt8(ascii: "-") { return false }
            } else if !(byte >= 48 && byte <= 57) && !(byte >= 97 && byte <= 102) && !(byte >= 65 && byte <= 70) {
                return false
            }
        }
        return true
    }
}

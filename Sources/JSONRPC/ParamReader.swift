/// Validated params of one call, read by name. Positional params are mapped onto the declared field order,
/// so every method accepts both forms without extra code.
public struct ParamReader: Sendable {
    public let values: JSONObject

    /// Validates `params` against `fields`; throws -32602 listing every problem with its path.
    public init(_ params: RequestParams, fields: [Schema.Field]) throws(RPCError) {
        let object: JSONObject
        switch params {
        case .none:
            object = JSONObject()
        case .byName(let named):
            object = named
        case .byPosition(let positional):
            guard positional.count <= fields.count else {
                throw .invalidParams([
                    FieldProblem(path: "params", message: "takes at most \(fields.count) positional params, got \(positional.count)")
                ])
            }
            object = JSONObject(zip(fields, positional).map { (key: $0.name, value: $1) })
        }
        let problems = Schema.object(fields).problems(in: .object(object), at: "params")
            + Self.nulProblems(in: .object(object), at: "params")
        guard problems.isEmpty else { throw .invalidParams(problems) }
        values = object
    }

    /// Strings (and member names) holding U+0000, wherever they are: PostgreSQL text cannot hold it, so such a
    /// param is refused with its path rather than cut short or refused later without one.
    static func nulProblems(in value: JSONValue, at path: String) -> [FieldProblem] {
        let message = "must not contain the NUL character (U+0000)"
        switch value {
        case .string(let text):
            return text.unicodeScalars.contains("\u{0}") ? [FieldProblem(path: path, message: message)] : []
        case .array(let items):
            return items.enumerated().flatMap { nulProblems(in: $1, at: "\(path)[\($0)]") }
        case .object(let object):
            return object.members.flatMap { member in
                member.key.unicodeScalars.contains("\u{0}")
                    ? [FieldProblem(path: path, message: "has a member name with the NUL character (U+0000)")]
                    : nulProblems(in: member.value, at: "\(path).\(member.key)")
            }
        default:
            return []
        }
    }

    public func string(_ name: String) -> String? { values[name]?.stringValue }
    public func int(_ name: String) -> Int? { values[name]?.intValue }
    public func bool(_ name: String) -> Bool? { values[name]?.boolValue }
    public func value(_ name: String) -> JSONValue? { values[name] }

    /// A required string: the schema guarantees it is present once validation passed.
    public func requiredString(_ name: String) -> String {
        guard let value = string(name) else { preconditionFailure("\(name) is declared required") }
        return value
    }
}

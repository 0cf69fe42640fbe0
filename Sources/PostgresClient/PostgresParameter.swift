import Foundation

/// A value that can be sent as a statement parameter. Parameters travel in libpq's text format, out of
/// band from the SQL text: values are never spliced into SQL strings.
public protocol PostgresParameter: Sendable {
    /// The text representation PostgreSQL's input function for the target type accepts.
    var postgresText: String { get }
}

extension String: PostgresParameter { public var postgresText: String { self } }
extension Substring: PostgresParameter { public var postgresText: String { String(self) } }
extension Int: PostgresParameter { public var postgresText: String { String(self) } }
extension Int32: PostgresParameter { public var postgresText: String { String(self) } }
extension Int64: PostgresParameter { public var postgresText: String { String(self) } }
extension Bool: PostgresParameter { public var postgresText: String { self ? "t" : "f" } }
extension Double: PostgresParameter { public var postgresText: String { String(self) } }
extension UUID: PostgresParameter { public var postgresText: String { uuidString.lowercased() } }

/// A `bytea` parameter, sent in PostgreSQL's hex format.
public struct ByteaParameter: PostgresParameter {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var postgresText: String {
        var text = "\\x"
        text.reserveCapacity(2 + bytes.count * 2)
        for byte in bytes {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0x0f)])
        }
        return text
    }
}

private let hexDigits: [Character] = Array("0123456789abcdef")

/// A statement and its parameters. `nil` parameters are SQL NULL.
public struct Statement: Sendable {
    public let sql: String
    public let parameters: [String?]
    /// Prepared statements are parsed once per connection and then executed by name.
    public let prepared: Bool

    public init(_ sql: String, _ parameters: [(any PostgresParameter)?] = [], prepared: Bool = true) {
        self.sql = sql
        self.parameters = parameters.map { $0?.postgresText }
        self.prepared = prepared
    }
}

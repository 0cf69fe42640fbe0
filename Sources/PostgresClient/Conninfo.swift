import CLibPQ
import Foundation

/// Conninfo strings derived from others through libpq's own parser, so that URLs and key/value strings are
/// both accepted and every value is quoted correctly.
public enum Conninfo {
    /// `conninfo` (a URL or key/value string) with some parameters replaced, as a key/value string.
    public static func replacing(_ overrides: [String: String], in conninfo: String) throws(PostgresError) -> String {
        var errorMessage: UnsafeMutablePointer<CChar>? = nil
        guard let options = PQconninfoParse(conninfo, &errorMessage) else {
            let message = errorMessage.map { String(cString: $0) } ?? "invalid connection string"
            if let errorMessage { PQfreemem(errorMessage) }
            throw .connectionFailed(message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        defer { PQconninfoFree(options) }
        var pairs: [(String, String)] = []
        var seen = Set<String>()
        var option = options
        while let keyword = option.pointee.keyword {
            let key = String(cString: keyword)
            if let value = overrides[key] {
                pairs.append((key, value))
                seen.insert(key)
            } else if let value = option.pointee.val {
                pairs.append((key, String(cString: value)))
            }
            option += 1
        }
        for key in overrides.keys.sorted() where !seen.contains(key) { pairs.append((key, overrides[key]!)) }
        return pairs.map { "\($0)=\(quoted($1))" }.joined(separator: " ")
    }

    /// A conninfo value in single quotes, with backslashes and quotes escaped as libpq expects.
    static func quoted(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }
}

import Foundation
import Logging
import Synchronization

/// Structured logs: one JSON object a line on standard error, for log shippers (`ENGAGEMENT_LOG_FORMAT=json`).
///
///     {"time":"2026-12-04T20:51:07.412Z","level":"error","logger":"engagementd","message":"call failed",
///      "request":"c12-r5","method":"party.create","reason":"…"}
///
/// Metadata become top-level members (nested dictionaries and arrays stay JSON); `time`, `level`, `logger`,
/// `message` come first and a metadata key of the same name is prefixed `meta_`. A call's `request` id is also
/// the `application_name` of its database transaction (`engagementd c12-r5`), so the PostgreSQL log ties a
/// slow statement to its call.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let output: @Sendable ([UInt8]) -> Void

    static let reserved: Set<String> = ["time", "level", "logger", "message"]
    /// One lock for the process: lines of concurrent writers never interleave.
    private static let writing = Mutex(())

    public init(
        label: String, level: Logger.Level = .info, metadataProvider: Logger.MetadataProvider? = nil,
        output: (@Sendable ([UInt8]) -> Void)? = nil
    ) {
        self.label = label
        self.logLevel = level
        self.metadataProvider = metadataProvider
        self.output = output ?? { line in
            Self.writing.withLock { _ in FileHandle.standardError.write(Data(line)) }
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        output(Self.line(time: Date(), level: event.level, label: label, message: event.message.description, metadata: merged))
    }

    /// The rendered line, newline included.
    static func line(time: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> [UInt8] {
        var out = "{\"time\":"
        out += JSONText.quoted(time.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)))
        out += ",\"level\":" + JSONText.quoted(level.rawValue)
        out += ",\"logger\":" + JSONText.quoted(label)
        out += ",\"message\":" + JSONText.quoted(message)
        for key in metadata.keys.sorted() {
            let name = reserved.contains(key) ? "meta_" + key : key
            out += "," + JSONText.quoted(name) + ":" + render(metadata[key]!)
        }
        out += "}\n"
        return Array(out.utf8)
    }

    private static func render(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): JSONText.quoted(text)
        case .stringConvertible(let value): JSONText.quoted(value.description)
        case .array(let values): "[" + values.map(render).joined(separator: ",") + "]"
        case .dictionary(let members):
            "{" + members.keys.sorted().map { JSONText.quoted($0) + ":" + render(members[$0]!) }.joined(separator: ",") + "}"
        }
    }

}

/// JSON string literals for the hand-rendered documents of this module.
enum JSONText {
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// The outcome of one call, ready to be written: a result (already-encoded JSON, possibly built by
/// PostgreSQL and passed through untouched) or an error.
public enum ResponseBody: Sendable {
    case result(rawJSON: [UInt8])
    case error(RPCError)

    public static func result(_ value: JSONValue) -> ResponseBody { .result(rawJSON: JSONWriter.encode(value)) }
}

public struct Response: Sendable {
    public let id: RequestID
    public let body: ResponseBody

    public init(id: RequestID, body: ResponseBody) {
        self.id = id
        self.body = body
    }

    public func write(to writer: inout JSONWriter) {
        writer.writeRaw("{\"jsonrpc\":\"2.0\",")
        switch body {
        case .result(let raw):
            writer.writeRaw("\"result\":")
            writer.writeRaw(raw)
        case .error(let error):
            writer.writeRaw("\"error\":")
            writer.write(error.json)
        }
        writer.writeRaw(",\"id\":")
        writer.write(id.json)
        writer.writeRaw("}")
    }

    /// One response as a line (terminated by `\n`).
    public var line: [UInt8] {
        var writer: JSONWriter
        if case .result(let raw) = body { writer = JSONWriter(reservingCapacity: raw.count + 64) } else { writer = JSONWriter() }
        write(to: &writer)
        writer.writeRaw("\n")
        return writer.bytes
    }

    /// A batch's responses as one line: a JSON array. Never called with an empty array: a batch with no
    /// responses (only notifications) gets no reply at all.
    public static func batchLine(_ responses: [Response]) -> [UInt8] {
        precondition(!responses.isEmpty, "an all-notification batch gets no reply")
        var writer = JSONWriter(reservingCapacity: 128 * responses.count)
        writer.writeRaw("[")
        for (offset, response) in responses.enumerated() {
            if offset > 0 { writer.writeRaw(",") }
            response.write(to: &writer)
        }
        writer.writeRaw("]\n")
        return writer.bytes
    }
}

import JSONRPC
import NIOCore

/// Reply lines built straight into the buffer the channel writes: a result's document (from PostgreSQL, passed
/// through) is copied once, into a buffer allocated once for the whole line, instead of into a growing `[UInt8]`
/// line first and a `ByteBuffer` after. The envelope is `Response.write(to:)`'s, byte for byte (`ReplyLineTests`).
enum ReplyLine {
    static func line(_ response: Response) -> ByteBuffer {
        guard case .result(let raw) = response.body else { return ByteBuffer(bytes: response.line) }
        let prefix: StaticString = #"{"jsonrpc":"2.0","result":"#
        let idPrefix: StaticString = #","id":"#
        let suffix: StaticString = "}\n"
        switch response.id {
        case .number(let lexeme):
            var buffer = ByteBufferAllocator().buffer(
                capacity: prefix.utf8CodeUnitCount + raw.count + idPrefix.utf8CodeUnitCount + lexeme.utf8.count
                    + suffix.utf8CodeUnitCount)
            buffer.writeStaticString(prefix)
            buffer.writeBytes(raw)
            buffer.writeStaticString(idPrefix)
            buffer.writeString(lexeme)
            buffer.writeStaticString(suffix)
            return buffer
        case .string, .null:
            // A string id needs JSON escaping: the writer does it.
            var writer = JSONWriter()
            writer.write(response.id.json)
            var buffer = ByteBufferAllocator().buffer(
                capacity: prefix.utf8CodeUnitCount + raw.count + idPrefix.utf8CodeUnitCount + writer.bytes.count
                    + suffix.utf8CodeUnitCount)
            buffer.writeStaticString(prefix)
            buffer.writeBytes(raw)
            buffer.writeStaticString(idPrefix)
            buffer.writeBytes(writer.bytes)
            buffer.writeStaticString(suffix)
            return buffer
        }
    }

    static func batch(_ responses: [Response]) -> ByteBuffer { ByteBuffer(bytes: Response.batchLine(responses)) }
}

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
        // The id's length as written (a string id with characters to escape grows the buffer once).
        let idLength = switch response.id {
        case .number(let lexeme): lexeme.utf8.count
        case .string(let string): string.utf8.count + 2
        case .null: 4
        }
        var buffer = ByteBufferAllocator().buffer(
            capacity: prefix.utf8CodeUnitCount + raw.count + idPrefix.utf8CodeUnitCount + idLength + suffix.utf8CodeUnitCount)
        buffer.writeStaticString(prefix)
        buffer.writeBytes(raw)
        buffer.writeStaticString(idPrefix)
        if case .number(let lexeme) = response.id {
            buffer.writeString(lexeme)
        } else {
            var writer = JSONWriter(reservingCapacity: idLength)
            writer.write(response.id.json)
            buffer.writeBytes(writer.bytes)
        }
        buffer.writeStaticString(suffix)
        return buffer
    }

    static func batch(_ responses: [Response]) -> ByteBuffer { ByteBuffer(bytes: Response.batchLine(responses)) }
}

import JSONRPC
import NIOCore
import Testing

@testable import RPCTransport

/// `ReplyLine` writes the envelope itself (into the channel's buffer); it must be `Response.line`, byte for byte.
@Suite("Reply lines")
struct ReplyLineTests {
    @Test("every kind of id and body gives the same bytes as Response.line")
    func sameBytesAsTheWriter() throws {
        let document = Array(#"{"id":"e1","name":"Managed IT \"Support\"","tags":["a","b"],"n":1.50}"#.utf8)
        let large = Array(("[" + (0..<5000).map { "\($0)" }.joined(separator: ",") + "]").utf8)
        let ids: [RequestID] = [.number("7"), .number("-1.5e3"), .string("call \"1\"\n\u{1}é"), .string(""), .null]
        let bodies: [ResponseBody] = [
            .result(rawJSON: document), .result(rawJSON: large), .result(rawJSON: Array("null".utf8)),
            .error(RPCError(.notFound, reason: "not_found")),
        ]
        for id in ids {
            for body in bodies {
                let response = Response(id: id, body: body)
                var buffer = ReplyLine.line(response)
                #expect(buffer.readBytes(length: buffer.readableBytes) == response.line)
                _ = try JSONParser.parse(Array(response.line.dropLast()))  // and it is one JSON document
            }
        }
        let batch = [Response(id: .number("1"), body: bodies[0]), Response(id: .string("x"), body: bodies[3])]
        var buffer = ReplyLine.batch(batch)
        #expect(buffer.readBytes(length: buffer.readableBytes) == Response.batchLine(batch))
    }
}

import LineFraming
import NIOCore
import NIOEmbedded
import Testing

/// Line framing on an in-memory channel: no sockets.
@Suite("Line framing")
struct LineFrameDecoderTests {
    func frames(_ chunks: [String], limit: Int) throws -> [String] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(LineFrameDecoder(maximumLength: limit)))
        var out: [String] = []
        for chunk in chunks {
            try channel.writeInbound(ByteBuffer(string: chunk))
            while let frame = try channel.readInbound(as: InboundFrame.self) {
                switch frame {
                case .line(let line): out.append(String(buffer: line))
                case .lineTooLong(let limit): out.append("too long (\(limit))")
                }
            }
        }
        _ = try? channel.finish()
        return out
    }

    @Test("splits at newlines across reads, drops one carriage return, keeps empty lines")
    func splits() throws {
        #expect(try frames(["{\"a\":1}\n{\"b\"", ":2}\r\n", "\n"], limit: 100) == ["{\"a\":1}", "{\"b\":2}", ""])
    }

    @Test("a line over the limit is refused before its newline arrives, and nothing after it is decoded")
    func limit() throws {
        #expect(try frames(["12345", "67890", "abc\nnext\n"], limit: 8) == ["too long (8)"])
        #expect(try frames(["12345678\n"], limit: 8) == ["12345678"], "exactly the limit is fine")
        #expect(try frames(["12345678\r\n"], limit: 8) == ["12345678"], "the carriage return does not count")
    }
}

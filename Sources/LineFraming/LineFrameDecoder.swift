import NIOCore

/// Line framing, shared by the server and the client (one JSON-RPC message per line).
///
/// What the framing layer hands to the connection: a complete line, or the news that a line grew past the
/// limit (after which nothing more is decoded; the connection answers and closes).
public enum InboundFrame: Sendable {
    case line(ByteBuffer)
    case lineTooLong(limit: Int)
}

/// Splits the byte stream at `\n`, dropping one `\r` before it, and refuses lines longer than `maximumLength`
/// bytes (terminator excluded) as soon as the buffered, unterminated data exceeds it, without waiting for the
/// newline: a client cannot make the server buffer more than one line's worth.
public struct LineFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = InboundFrame

    public let maximumLength: Int
    private var scannedBytes = 0
    private var refused = false

    public init(maximumLength: Int) { self.maximumLength = maximumLength }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if refused {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .needMoreData
        }
        let view = buffer.readableBytesView
        if let newline = view[view.startIndex.advanced(by: scannedBytes)...].firstIndex(of: UInt8(ascii: "\n")) {
            var length = newline - view.startIndex
            scannedBytes = 0
            let hasCarriageReturn = length > 0 && view[newline - 1] == UInt8(ascii: "\r")
            if hasCarriageReturn { length -= 1 }
            guard length <= maximumLength else {
                refuse(context: context, buffer: &buffer)
                return .needMoreData
            }
            let line = buffer.readSlice(length: length)!
            buffer.moveReaderIndex(forwardBy: hasCarriageReturn ? 2 : 1)
            context.fireChannelRead(wrapInboundOut(.line(line)))
            return .continue
        }
        // Allow one extra byte for a `\r` that may precede the newline still to come.
        if view.count > maximumLength + 1 {
            refuse(context: context, buffer: &buffer)
            return .needMoreData
        }
        scannedBytes = view.count
        return .needMoreData
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        // A final line without a newline is not a complete message; it is dropped.
        while try decode(context: context, buffer: &buffer) == .continue {}
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }

    private mutating func refuse(context: ChannelHandlerContext, buffer: inout ByteBuffer) {
        refused = true
        buffer.moveReaderIndex(to: buffer.writerIndex)
        context.fireChannelRead(wrapInboundOut(.lineTooLong(limit: maximumLength)))
    }
}

import NIOCore

/// The way back to one client outside request and reply: server-initiated notifications (pushed events). Lines
/// go out on the connection's event loop, between replies; a line written after the connection closed is
/// dropped. `send` completes when the line is handed to the socket, so a caller can count what a slow client
/// has not taken yet.
public struct ConnectionOutbound: Sendable {
    let channel: any Channel

    /// Writes one line (a JSON-RPC notification; the newline is added).
    @discardableResult
    public func send(_ line: [UInt8]) -> EventLoopFuture<Void> {
        var buffer = channel.allocator.buffer(capacity: line.count + 1)
        buffer.writeBytes(line)
        buffer.writeInteger(UInt8(ascii: "\n"))
        return channel.writeAndFlush(buffer)
    }

    /// Completes when the connection closes.
    public var closed: EventLoopFuture<Void> { channel.closeFuture }
}

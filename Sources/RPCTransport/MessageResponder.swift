import JSONRPC
import NIOCore

/// Turns a received line into its reply: decoding, batches, and the responder for each request. Shared by
/// all connections; the connection handler decides when each message runs.
struct MessageResponder<Responder: RPCResponder>: Sendable {
    let responder: Responder
    let maximumBatchSize: Int

    /// Decodes a line; nil for a blank line (ignored, so a human typing into a terminal may press Enter).
    func decode(_ line: ByteBuffer) -> IncomingMessage? {
        let bytes = Array(line.readableBytesView)
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return nil }
        // ASCII is valid UTF-8: most lines are, and then no validating copy of the line is made.
        let isASCII = bytes.withUnsafeBufferPointer { buffer in buffer.reduce(0, |) < 0x80 }
        guard isASCII || String(validating: bytes, as: UTF8.self) != nil else {
            return .rejected(RPCError(.parseError, "Parse error: the line is not valid UTF-8", reason: "invalid_utf8"))
        }
        return IncomingMessage.decode(line: bytes)
    }

    func containsBarrier(_ message: IncomingMessage) -> Bool {
        switch message {
        case .single(.request(let request)): responder.isBarrier(request)
        case .batch(let entries):
            entries.contains { if case .request(let request) = $0 { responder.isBarrier(request) } else { false } }
        default: false
        }
    }

    /// The reply line for a message, or nil when nothing is owed (a notification, a batch of notifications).
    func respond(to message: IncomingMessage, session: Responder.Session) async -> ByteBuffer? {
        switch message {
        case .rejected(let error):
            return ReplyLine.line(Response(id: .null, body: .error(error)))
        case .single(let entry):
            return await respond(to: entry, session: session).map(ReplyLine.line)
        case .batch(let entries):
            guard entries.count <= maximumBatchSize else {
                let error = RPCError(
                    .invalidRequest, "Invalid Request: a batch may hold at most \(maximumBatchSize) requests",
                    reason: "batch_too_large", limit: maximumBatchSize)
                return ReplyLine.line(Response(id: .null, body: .error(error)))
            }
            // Batch members run one after another, in order: predictable, and one batch cannot take the whole
            // database pool.
            var responses: [Response] = []
            for entry in entries {
                if let response = await respond(to: entry, session: session) { responses.append(response) }
            }
            return responses.isEmpty ? nil : ReplyLine.batch(responses)
        }
    }

    /// The reply to a message that arrived after the server began shutting down: every call in it gets the
    /// retry-later error (it never ran), notifications nothing; nil when nothing is owed.
    func refusal(of message: IncomingMessage) -> ByteBuffer? {
        let error = RPCError(
            .unavailable, "Unavailable, retry later: the server is shutting down; the call did not run",
            reason: "shutting_down", retryAfterMilliseconds: 1000)
        func refusal(_ entry: RequestEntry) -> Response? {
            switch entry {
            case .invalid(let id, let invalid): Response(id: id, body: .error(invalid))
            case .request(let request): request.id.map { Response(id: $0, body: .error(error)) }
            }
        }
        switch message {
        case .rejected(let rejected):
            return ReplyLine.line(Response(id: .null, body: .error(rejected)))
        case .single(let entry):
            return refusal(entry).map(ReplyLine.line)
        case .batch(let entries):
            let responses = entries.compactMap(refusal)
            return responses.isEmpty ? nil : ReplyLine.batch(responses)
        }
    }

    private func respond(to entry: RequestEntry, session: Responder.Session) async -> Response? {
        switch entry {
        case .invalid(let id, let error):
            return Response(id: id, body: .error(error))
        case .request(let request):
            let body = await responder.respond(to: request, session: session)
            guard let id = request.id else { return nil }  // notifications are never answered
            return Response(id: id, body: body)
        }
    }
}

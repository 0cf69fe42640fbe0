import Foundation
import JSONRPC
import LineFraming
import NIOCore
import NIOPosix
@_exported import enum NIOSSL.TLSVersion
import NIOSSL

public enum RPCClientError: Error, Sendable, CustomStringConvertible {
    case connectionClosed
    case timedOut
    case replyTooLong(Int)
    case invalidReply(String)
    /// The connection failed rather than closed: a TLS handshake refused by either side, a reset. The text is
    /// the transport's error (for TLS, BoringSSL's reason, e.g. `CERTIFICATE_VERIFY_FAILED`).
    case connectionFailed(String)

    public var description: String {
        switch self {
        case .connectionClosed: "the server closed the connection"
        case .timedOut: "no reply within the timeout"
        case .replyTooLong(let limit): "a reply exceeded \(limit) bytes"
        case .invalidReply(let reason): "the server sent an invalid reply: \(reason)"
        case .connectionFailed(let reason): "the connection failed: \(reason)"
        }
    }
}

/// TLS settings of a client: the CA that must have signed the server's certificate (verification is always
/// on), and optionally a client certificate for mutual TLS.
public struct ClientTLS: Sendable {
    public var caFile: String
    public var certificateFile: String?
    public var privateKeyFile: String?
    /// Caps the protocol version offered (to check that a server refuses old versions).
    public var maximumVersion: TLSVersion?

    public init(
        caFile: String, certificateFile: String? = nil, privateKeyFile: String? = nil, maximumVersion: TLSVersion? = nil
    ) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.maximumVersion = maximumVersion
    }
}

/// One TLS connection to the server, speaking one JSON message per line. Offers both raw lines (for tests
/// and tools that need exact bytes) and `call`, which matches replies to requests by id.
public actor RPCConnection {
    private let channel: any Channel
    private var writer: NIOAsyncChannelOutboundWriter<ByteBuffer>?
    private var lines: [[UInt8]] = []
    /// Callers waiting for a line; a `reply(to:)` caller names the id it waits for, so that a reply another
    /// caller reads first is handed to it (concurrent calls on one connection).
    private var lineWaiters: [(deadline: ContinuousClock.Instant, owner: RequestID?, continuation: CheckedContinuation<[UInt8]?, any Error>)] = []
    /// Fails waiters whose deadline passed: one task sleeping until the earliest deadline (and its target),
    /// rather than a timer task started and cancelled for every line read.
    private var waiterExpiry: (task: Task<Void, Never>, until: ContinuousClock.Instant)?
    private var closed = false
    private var closeError: (any Error)?
    /// Senders whose write failed because the channel closed, waiting for the reader to say why.
    private var closeWaiters: [CheckedContinuation<Void, Never>] = []
    private var nextRequestID = 1
    /// Replies read while looking for another id, kept for whoever asks for them.
    private var unclaimed: [RequestID: JSONValue] = [:]
    /// Server-initiated notifications (pushed events) read while waiting for replies, in arrival order.
    private var notifications: [JSONValue] = []

    public static func connect(
        host: String, port: Int, tls: ClientTLS, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> RPCConnection {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let maximum = tls.maximumVersion {
            configuration.minimumTLSVersion = .tlsv1
            configuration.maximumTLSVersion = maximum
        } else {
            configuration.minimumTLSVersion = .tlsv12
        }
        configuration.certificateVerification = .fullVerification
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(tls.caFile))
        if let certificate = tls.certificateFile, let key = tls.privateKeyFile {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        let context = try NIOSSLContext(configuration: configuration)
        // Host names are verified against DNS names; IP literals against IP addresses (NIOSSL does so when
        // no server host name is given).
        let isIPAddress = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        let serverHostname = isIPAddress ? nil : host
        let asyncChannel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: context, serverHostname: serverHostname))
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(LineFrameDecoder(maximumLength: 64 << 20)))
                    return try NIOAsyncChannel<InboundFrame, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let connection = RPCConnection(channel: asyncChannel.channel)
        await connection.start(asyncChannel)
        return connection
    }

    private init(channel: any Channel) { self.channel = channel }

    /// Starts the task that owns the channel: it hands the writer over, then appends every line read.
    private func start(_ asyncChannel: NIOAsyncChannel<InboundFrame, ByteBuffer>) async {
        await withCheckedContinuation { (ready: CheckedContinuation<Void, Never>) in
            // The task inherits this actor's isolation, so lines are appended in the order they arrive.
            Task {
                do {
                    try await asyncChannel.executeThenClose { inbound, outbound in
                        self.setWriter(outbound)
                        ready.resume()
                        for try await frame in inbound {
                            switch frame {
                            case .line(let line): self.received(Array(line.readableBytesView))
                            case .lineTooLong(let limit): throw RPCClientError.replyTooLong(limit)
                            }
                        }
                    }
                    self.finished(nil)
                } catch {
                    self.finished(error)
                }
            }
        }
    }

    private func setWriter(_ writer: NIOAsyncChannelOutboundWriter<ByteBuffer>) { self.writer = writer }

    private func received(_ line: [UInt8]) {
        if !lineWaiters.isEmpty {
            lineWaiters.removeFirst().continuation.resume(returning: line)
        } else {
            lines.append(line)
        }
    }

    private func finished(_ error: (any Error)?) {
        closed = true
        closeError = error
        writer = nil
        for waiter in closeWaiters { waiter.resume() }
        closeWaiters.removeAll()
        for waiter in lineWaiters {
            if let error { waiter.continuation.resume(throwing: RPCClientError.connectionFailed("\(error)")) }
            else { waiter.continuation.resume(returning: nil) }
        }
        lineWaiters.removeAll()
        waiterExpiry?.task.cancel()
        waiterExpiry = nil
    }

    /// Sends bytes as they are (the caller adds `\n`).
    public func send(_ bytes: [UInt8]) async throws {
        if let closeError { throw RPCClientError.connectionFailed("\(closeError)") }
        guard let writer, !closed else { throw RPCClientError.connectionClosed }
        do {
            try await writer.write(ByteBuffer(bytes: bytes))
        } catch {
            // The channel closed under the write (a TLS alert, a reset): the reader reports why, once it is done.
            if !closed { await withCheckedContinuation { closeWaiters.append($0) } }
            if let closeError { throw RPCClientError.connectionFailed("\(closeError)") }
            throw error
        }
    }

    public func send(line: String) async throws { try await send(Array((line + "\n").utf8)) }

    /// The next line from the server, or nil once the connection is closed and every line was read.
    public func nextLine(timeout: Duration = .seconds(10)) async throws -> [UInt8]? {
        try await nextLine(timeout: timeout, owner: nil)
    }

    private func nextLine(timeout: Duration, owner: RequestID?) async throws -> [UInt8]? {
        if !lines.isEmpty { return lines.removeFirst() }
        if let closeError { throw RPCClientError.connectionFailed("\(closeError)") }
        if closed { return nil }
        let deadline = ContinuousClock.now + timeout
        return try await withCheckedThrowingContinuation { continuation in
            lineWaiters.append((deadline, owner, continuation))
            if let expiry = waiterExpiry, expiry.until <= deadline { return }
            waiterExpiry?.task.cancel()
            waiterExpiry = (Task { await self.expireWaiters(sleepingUntil: deadline) }, deadline)
        }
    }

    /// Sleeps until the earliest deadline, fails the waiters past theirs, and repeats while anyone waits.
    private func expireWaiters(sleepingUntil first: ContinuousClock.Instant) async {
        var until = first
        while true {
            try? await Task.sleep(until: until, clock: .continuous)
            // Replaced by a task for an earlier deadline (possibly after this one woke, before it got back on
            // the actor): that task owns `waiterExpiry` now.
            if Task.isCancelled { return }
            let now = ContinuousClock.now
            for (index, waiter) in lineWaiters.enumerated().reversed() where waiter.deadline <= now {
                lineWaiters.remove(at: index).continuation.resume(throwing: RPCClientError.timedOut)
            }
            guard let next = lineWaiters.map(\.deadline).min() else {
                waiterExpiry = nil
                return
            }
            until = next
            waiterExpiry?.until = next
        }
    }

    /// The next line parsed as JSON.
    public func nextMessage(timeout: Duration = .seconds(10)) async throws -> JSONValue? {
        try await nextMessage(timeout: timeout, owner: nil)
    }

    private func nextMessage(timeout: Duration, owner: RequestID?) async throws -> JSONValue? {
        guard let line = try await nextLine(timeout: timeout, owner: owner) else { return nil }
        do { return try JSONParser.parse(line) } catch { throw RPCClientError.invalidReply("\(error)") }
    }

    /// A reply read by a caller it is not for: straight to the caller waiting for it, if one is reading now,
    /// else kept until its caller asks.
    private func setAside(_ message: JSONValue, for replyID: RequestID) {
        if let index = lineWaiters.firstIndex(where: { $0.owner == replyID }) {
            lineWaiters.remove(at: index).continuation.resume(returning: JSONWriter.encode(message))
        } else {
            unclaimed[replyID] = message
        }
    }

    /// Sends a request with a fresh numeric id and returns the whole reply object (`result` or `error`),
    /// setting aside replies to other ids that arrive first.
    public func call(_ method: String, _ params: JSONValue? = nil, timeout: Duration = .seconds(30)) async throws
        -> JSONValue
    {
        let id = RequestID.number(String(nextRequestID))
        nextRequestID += 1
        var request: JSONObject = ["jsonrpc": "2.0", "method": .string(method), "id": id.json]
        if let params { request["params"] = params }
        try await send(JSONWriter.encode(.object(request)) + [UInt8(ascii: "\n")])
        return try await reply(to: id, timeout: timeout)
    }

    /// Waits for the reply with `id`.
    public func reply(to id: RequestID, timeout: Duration = .seconds(30)) async throws -> JSONValue {
        while true {
            if let reply = unclaimed.removeValue(forKey: id) { return reply }
            guard let message = try await nextMessage(timeout: timeout, owner: id) else { throw RPCClientError.connectionClosed }
            if message["id"] == nil, message["method"] != nil {
                notifications.append(message)
                continue
            }
            let replyID: RequestID
            switch message["id"] {
            case .string(let s)?: replyID = .string(s)
            case .number(let n)?: replyID = .number(n)
            default: replyID = .null
            }
            if replyID == id { return message }
            setAside(message, for: replyID)
        }
    }

    /// The next notification the server sent (`{"method", "params"}`), setting aside replies that arrive first;
    /// nil once the connection is closed.
    public func nextNotification(timeout: Duration = .seconds(10)) async throws -> JSONValue? {
        while true {
            if !notifications.isEmpty { return notifications.removeFirst() }
            guard let message = try await nextMessage(timeout: timeout) else { return nil }
            if message["id"] == nil, message["method"] != nil { return message }
            let replyID: RequestID
            switch message["id"] {
            case .string(let s)?: replyID = .string(s)
            case .number(let n)?: replyID = .number(n)
            default: replyID = .null
            }
            setAside(message, for: replyID)
        }
    }

    /// Whether the server has closed the connection (after every buffered line was read).
    public var isClosed: Bool { closed && lines.isEmpty }

    public func close() async {
        try? await channel.close()
    }
}

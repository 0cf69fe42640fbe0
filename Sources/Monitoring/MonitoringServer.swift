import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small plain-HTTP server for operators and orchestrators, on its own port (keep it on a private network):
///
/// - `GET /metrics`: the Prometheus text exposition of `ServiceMetrics`;
/// - `GET /healthz`: 200 while the process serves (liveness);
/// - `GET /readyz`: 200 when `readiness` finds the service able to serve calls (database reachable, schema
///   current), else 503; the body says why, as one JSON object.
///
/// Anything else is 404 (405 for another verb on a known path). Requests are read to their end and answered
/// one at a time per connection; bodies are ignored.
public final class MonitoringServer: Sendable {
    /// What `/readyz` reports.
    public struct Readiness: Sendable, Equatable {
        public var ready: Bool
        /// A short machine-readable reason (`ok`, `database_unreachable`, `migrations_pending`, …).
        public var reason: String
        public var detail: String

        public init(ready: Bool, reason: String, detail: String = "") {
            self.ready = ready
            self.reason = reason
            self.detail = detail
        }
    }

    public let port: Int
    private let channel: any Channel
    private let logger: Logger

    public static func bind(
        host: String, port: Int, metrics: ServiceMetrics, readiness: @escaping @Sendable () async -> Readiness,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) async throws -> MonitoringServer {
        let routes = Routes(metrics: metrics, readiness: readiness)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try child.pipeline.syncOperations.addHandler(HTTPEndpointHandler(routes: routes))
                }
            }
            .bind(host: host, port: port).get()
        let server = MonitoringServer(channel: channel, port: channel.localAddress?.port ?? port, logger: logger)
        logger.info("monitoring endpoint listening", metadata: ["host": "\(host)", "port": "\(server.port)"])
        return server
    }

    private init(channel: any Channel, port: Int, logger: Logger) {
        self.channel = channel
        self.port = port
        self.logger = logger
    }

    /// Serves until `close()`.
    public func run() async { try? await channel.closeFuture.get() }

    public func close() async { try? await channel.close() }
}

/// What each path answers.
struct Routes: Sendable {
    let metrics: ServiceMetrics
    let readiness: @Sendable () async -> MonitoringServer.Readiness

    struct Reply: Sendable {
        var status: HTTPResponseStatus
        var contentType: String
        var body: [UInt8]
    }

    func reply(method: HTTPMethod, path: String) async -> Reply {
        let path = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path
        guard ["/metrics", "/healthz", "/readyz"].contains(path) else {
            return Reply(status: .notFound, contentType: "text/plain", body: Array("not found\n".utf8))
        }
        guard method == .GET || method == .HEAD else {
            return Reply(status: .methodNotAllowed, contentType: "text/plain", body: Array("GET only\n".utf8))
        }
        switch path {
        case "/metrics":
            return Reply(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: await metrics.scrape())
        case "/healthz":
            return Reply(status: .ok, contentType: "application/json", body: Array(#"{"status":"ok"}"#.utf8) + [0x0A])
        default:
            let state = await readiness()
            let body = #"{"ready":\#(state.ready),"reason":\#(JSONText.quoted(state.reason)),"detail":\#(JSONText.quoted(state.detail))}"#
            return Reply(status: state.ready ? .ok : .serviceUnavailable, contentType: "application/json", body: Array(body.utf8) + [0x0A])
        }
    }
}

/// One HTTP/1.1 connection: on each request's end, asks `Routes` (off the event loop) and writes the reply.
final class HTTPEndpointHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let routes: Routes

    init(routes: Routes) { self.routes = routes }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        let routes = self.routes
        let loopBound = NIOLoopBound((context, self), eventLoop: context.eventLoop)
        let keepAlive = head.isKeepAlive
        let version = head.version
        let eventLoop = context.eventLoop
        Task {
            let reply = await routes.reply(method: head.method, path: head.uri)
            eventLoop.execute {
                let (context, handler) = loopBound.value
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: reply.contentType)
                headers.add(name: "Content-Length", value: String(reply.body.count))
                headers.add(name: "Cache-Control", value: "no-store")
                if !keepAlive { headers.add(name: "Connection", value: "close") }
                context.write(handler.wrapOutboundOut(.head(HTTPResponseHead(version: version, status: reply.status, headers: headers))), promise: nil)
                if head.method != .HEAD {
                    context.write(handler.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: reply.body)))), promise: nil)
                }
                let done = context.writeAndFlush(handler.wrapOutboundOut(.end(nil)))
                if !keepAlive {
                    let channel = context.channel
                    done.whenComplete { _ in channel.close(promise: nil) }
                }
            }
        }
    }
}

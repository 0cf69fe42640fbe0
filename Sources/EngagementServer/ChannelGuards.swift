import NIOCore
import NIOSSL
import NIOTLS

/// Closes a connection whose TLS handshake has not completed within the timeout (a client that connects and
/// sends nothing, or sends bytes that are not TLS, does not hold a slot for long), and reports the
/// handshake's outcome through `completed`.
final class HandshakeTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let timeout: TimeAmount
    private let completed: EventLoopPromise<Void>
    private var scheduled: Scheduled<Void>?

    init(timeout: TimeAmount, completed: EventLoopPromise<Void>) {
        self.timeout = timeout
        self.completed = completed
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard scheduled == nil else { return }
        let channel = context.channel
        scheduled = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        completed.fail(ChannelError.ioOnClosedChannel)  // no effect once it succeeded
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            scheduled?.cancel()
            scheduled = nil
            completed.succeed()
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        scheduled?.cancel()
        completed.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }
}

/// Closes a connection that has received nothing for the idle timeout while none of its requests is in flight.
/// Sits behind NIO's `IdleStateHandler`, which reports the read idleness.
final class IdleConnectionCloser: ChannelInboundHandler {
    typealias InboundIn = NIOAny
    private let activity: InFlightLimiter

    init(activity: InFlightLimiter) { self.activity = activity }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read, activity.inFlight == 0 {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

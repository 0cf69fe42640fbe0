import NIOCore
import NIOSSL
import NIOTLS

/// Closes a connection whose TLS handshake has not completed within the timeout (a client that connects and
/// sends nothing, or sends bytes that are not TLS, does not hold a slot for long), and tells the observer about
/// every handshake that did not complete, once, with why.
final class HandshakeTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let timeout: TimeAmount
    private let observer: (any TransportObserver)?
    private var scheduled: Scheduled<Void>?
    /// Why the handshake failed, once known (the first reason wins: a timeout's close is not also "closed").
    private var failure: String?

    init(timeout: TimeAmount, observer: (any TransportObserver)? = nil) {
        self.timeout = timeout
        self.observer = observer
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
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        scheduled = context.eventLoop.scheduleTask(in: timeout) {
            handler.value.fail("timeout")
            channel.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        context.fireUserInboundEventTriggered(event)
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            scheduled?.cancel()
            scheduled = nil
            // After passing the event on: a removed handler's context no longer forwards anything.
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail("error")
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        scheduled?.cancel()
        fail("closed")
        context.fireChannelInactive()
    }

    private func fail(_ reason: String) {
        guard failure == nil else { return }
        failure = reason
        observer?.handshakeFailed(reason: reason)
    }
}

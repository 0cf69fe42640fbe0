import CLibPQ
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Tells a suspended task when a database socket is ready, so that a round trip needs no thread of its own.
///
/// A call's task sends its pipeline from its own executor (the client connection's event loop), then waits here;
/// one thread for the whole process sleeps in `epoll_wait` on every socket a task waits for, and resumes that task
/// when its socket is readable (or writable, when asked): the task then continues on its own executor, reads the
/// results there and writes the reply. Per round trip: one wake-up of this thread and one of the event loop,
/// instead of a pool thread blocking in libpq and the hand-offs to and from it.
///
/// Why a thread of its own and not the event loop's own `epoll`: SwiftNIO registers only its own channels with
/// its selector, and a channel adopting the socket would read the bytes libpq has to read itself.
///
/// Each socket is registered one-shot: it fires once per wait, then stays registered but disarmed until the next
/// wait re-arms it (`EPOLL_CTL_MOD`; `EPOLL_CTL_ADD` the first time, and after a closed socket's number is reused,
/// since closing a socket removes it from the set). Errors and hang-ups always fire: libpq then reports the broken
/// connection on its next read.
public final class SocketReadiness: Sendable {
    /// The process's instance (its thread starts on first use and lives as long as the process).
    public static let shared = SocketReadiness()

    private let epoll: Int32
    /// The task waiting on each socket (at most one: a pooled connection is leased to one call at a time).
    private let waiting = Mutex<[Int32: Waiter]>([:])

    private init() {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epoll >= 0, "epoll_create1 failed: errno \(errno)")
        let thread = Thread { [self] in run() }
        thread.name = "postgres-readiness"
        thread.start()
    }

    /// Suspends the calling task until `socket` is readable (with `writable`, readable or writable) or broken.
    ///
    /// With `ready`, readability alone does not resume the task: this thread calls `ready` (which reads what
    /// arrived, `PQconsumeInput`, and says whether a whole result is there) and keeps waiting while it says no.
    /// A result larger than one read (a list page) then costs its task one wake-up instead of one per chunk the
    /// server sent. The task is suspended meanwhile, so the connection is still used by one thread at a time.
    public func wait(for socket: Int32, writable: Bool, until ready: (@Sendable () -> Bool)? = nil) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            waiting.withLock { $0[socket] = Waiter(continuation: continuation, ready: ready) }
            if !arm(socket, writable: writable) {
                // Not a socket epoll can watch (closed underneath us): let libpq find out on its next read.
                waiting.withLock { $0.removeValue(forKey: socket) }?.continuation.resume()
            }
        }
    }

    private struct Waiter {
        let continuation: CheckedContinuation<Void, Never>
        let ready: (@Sendable () -> Bool)?
    }

    /// Registers (or re-arms) the socket for one event.
    private func arm(_ socket: Int32, writable: Bool) -> Bool {
        var interest = EPOLLIN.rawValue | EPOLLONESHOT.rawValue | EPOLLRDHUP.rawValue
        if writable { interest |= EPOLLOUT.rawValue }
        var event = epoll_event()
        event.events = interest
        event.data.fd = socket
        if epoll_ctl(epoll, EPOLL_CTL_MOD, socket, &event) == 0 { return true }
        return errno == ENOENT && epoll_ctl(epoll, EPOLL_CTL_ADD, socket, &event) == 0
    }

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        while true {
            let count = events.withUnsafeMutableBufferPointer { epoll_wait(epoll, $0.baseAddress, Int32($0.count), -1) }
            if count < 0 {
                if errno == EINTR { continue }
                fatalError("epoll_wait failed: errno \(errno)")
            }
            let sockets = (0..<Int(count)).map { events[$0].data.fd }
            let woken = waiting.withLock { waiting in sockets.compactMap { socket in waiting.removeValue(forKey: socket).map { (socket, $0) } } }
            for (socket, waiter) in woken {
                if let ready = waiter.ready, !ready() {
                    waiting.withLock { $0[socket] = waiter }
                    if arm(socket, writable: false) { continue }
                    waiting.withLock { $0.removeValue(forKey: socket) }
                }
                waiter.continuation.resume()
            }
        }
    }
}

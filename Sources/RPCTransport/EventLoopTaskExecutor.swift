import NIOCore

/// An event loop as a Swift task executor: a call's task runs on its connection's event loop, where its request
/// was decoded and where its reply is written.
///
/// Without it a call's task ran on Swift's global executor: a hand-off from the event loop to it when the call
/// started, and one back to the event loop with the reply. With it, the task starts on the loop (after the handler
/// returns, in the same turn of the loop), awaits the database without leaving it (`ConnectionPool.pipeline` and
/// `SocketReadiness`), and finishes there. The pool and the organisations' shares are locks, not actors: each
/// `await` on an actor costs the task a hop off the loop and an enqueue back onto it (counted: Benchmarks/README.md).
///
/// Nothing a call runs may block: anything that would (opening a database connection, work done with
/// `ConnectionPool.withConnection`) runs on a thread pool and is awaited.
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// One executor per event loop of `group`, looked up by loop when a connection's handler is made.
    struct PerLoop: Sendable {
        private let executors: [ObjectIdentifier: EventLoopTaskExecutor]

        init(_ group: any EventLoopGroup) {
            var executors: [ObjectIdentifier: EventLoopTaskExecutor] = [:]
            for loop in group.makeIterator() { executors[ObjectIdentifier(loop)] = EventLoopTaskExecutor(loop) }
            self.executors = executors
        }

        func executor(for loop: any EventLoop) -> EventLoopTaskExecutor? { executors[ObjectIdentifier(loop)] }
    }
}

import NIOCore
import NIOPosix
import PostgresClient
@testable import RPCTransport
import Synchronization
import Testing

/// `ConnectionPool.pipeline`: a round trip driven from the calling task's executor (a server call's: its event
/// loop), waiting for the socket through `SocketReadiness` instead of a blocking thread.
@Suite("Pipelines on the event loop")
struct PipelineOnLoopTests {
    /// Runs `body` in a task whose executor is `loop` (as a server call runs), and checks it is still there after.
    func onLoop<T: Sendable>(_ loop: any EventLoop, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let executor = EventLoopTaskExecutor(loop)
        return try await Task(executorPreference: executor) {
            #expect(loop.inEventLoop)
            let value = try await body()
            #expect(loop.inEventLoop, "the task came back to its event loop after the round trip")
            return value
        }.value
    }

    /// A pool on a database of its own.
    func scratchPool(_ label: String, connections: Int, acquireTimeout: Duration = .seconds(5)) async throws -> ConnectionPool {
        let deployment = try await TestCluster.shared.deployment(label)
        return ConnectionPool(configuration: .init(
            conninfo: try deployment.superuserURL, maximumConnections: connections, acquireTimeout: acquireTimeout))
    }

    @Test("results, prepared statements and errors as in the blocking driver; the task stays on its loop")
    func resultsAndErrors() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let loop = group.next()
        let pool = try await scratchPool("onloop", connections: 2)
        try await pool.withConnection { try $0.executeScript("CREATE TABLE things (id int CONSTRAINT things_id_unique UNIQUE)") }

        let sums = try await onLoop(loop) {
            try await pool.pipeline([Statement("SELECT $1::int + 1", [41]), Statement("SELECT $1::text || 'b'", ["a"])]).results.get()
        }
        #expect(sums[0].int(0, 0) == 42 && sums[1].string(0, 0) == "ab")

        let failed = try await onLoop(loop) {
            try await pool.pipeline([
                Statement("INSERT INTO things VALUES ($1)", [1]),
                Statement("INSERT INTO things VALUES ($1)", [1]),
                Statement("INSERT INTO things VALUES ($1)", [2]),
            ]).results
        }
        guard case .failure(let error) = failed, let server = error.serverError else {
            Issue.record("the duplicate must fail: \(failed)")
            return
        }
        #expect(server.sqlState == .uniqueViolation && server.constraint == "things_id_unique")
        #expect(server.statementIndex == 1)
        let count = try await onLoop(loop) { try await pool.pipeline([Statement("SELECT count(*) FROM things")]).results.get() }
        #expect(count[0].int(0, 0) == 0, "the whole pipeline rolled back, and the connection went on")
        await pool.shutdown()
    }

    @Test("a pipeline larger than the socket buffers both ways is flushed while its results are read")
    func largePipeline() async throws {
        let pool = try await scratchPool("onloop-large", connections: 1)
        let big = String(repeating: "x", count: 200_000)
        // 100 statements of 200 kB each way: 20 MB out and 20 MB back in one round trip.
        let statements = (0..<100).map { Statement("SELECT length($1::text) + $2::int, repeat('y', 200000)", [big, $0]) }
        let results = try await onLoop(MultiThreadedEventLoopGroup.singleton.next()) { try await pool.pipeline(statements).results.get() }
        #expect(results.count == 100)
        #expect(results.enumerated().allSatisfy { $0.element.int(0, 0) == 200_000 + $0.offset && $0.element.string(0, 1)?.count == 200_000 })
        await pool.shutdown()
    }

    @Test("many calls from the loops share a small pool; each gets its own answer")
    func concurrentCalls() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let pool = try await scratchPool("onloop-many", connections: 3)
        let answers = try await withThrowingTaskGroup(of: (Int, Int?).self) { tasks in
            for number in 0..<300 {
                let loop = group.next()
                tasks.addTask {
                    try await self.onLoop(loop) {
                        let results = try await pool.pipeline([Statement("SELECT $1::int * 2", [number])]).results.get()
                        return (number, results[0].int(0, 0))
                    }
                }
            }
            return try await tasks.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(answers.count == 300 && answers.allSatisfy { $0.value == $0.key * 2 })
        #expect(await pool.statistics.open <= 3)
        await pool.shutdown()
    }

    @Test("a backend terminated while the task waits: a connection error, the connection is dropped, the next call works")
    func terminatedWhileWaiting() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let deployment = try await TestCluster.shared.deployment("onloop-kill")
        let pool = ConnectionPool(configuration: .init(conninfo: try deployment.superuserURL, maximumConnections: 1))
        let pid = try await pool.pipeline([Statement("SELECT pg_backend_pid()")]).results.get()[0].int(0, 0)
        let sleeper = Task { try await onLoop(group.next()) { try await pool.pipeline([Statement("SELECT pg_sleep(30)")]).results } }
        let killer = try PostgresConnection.connect(try deployment.superuserURL)
        defer { killer.close() }
        var sleeping = false
        for _ in 0..<200 where !sleeping {
            try await Task.sleep(for: .milliseconds(25))
            sleeping = try killer.query("SELECT wait_event = 'PgSleep' FROM pg_stat_activity WHERE pid = $1", [pid]).bool(0, 0) == true
        }
        #expect(sleeping)
        #expect(try killer.query("SELECT pg_terminate_backend($1)", [pid]).bool(0, 0) == true)
        let outcome = try await sleeper.value
        guard case .failure(let error) = outcome else {
            Issue.record("the terminated call must fail")
            return
        }
        #expect(error.isConnectionProblem)
        let next = try await onLoop(group.next()) { try await pool.pipeline([Statement("SELECT pg_backend_pid()")]).results.get() }
        #expect(next[0].int(0, 0) != pid)
        #expect(await pool.statistics.open == 1)
        await pool.shutdown()
    }

    @Test("a caller cancelled while every connection is taken leaves the queue at once; the pool goes on")
    func cancelledWaiter() async throws {
        let pool = try await scratchPool("onloop-cancel", connections: 1, acquireTimeout: .seconds(30))
        let holder = Task { try await pool.pipeline([Statement("SELECT pg_sleep(2)")]).results.get() }
        var open = 0
        for _ in 0..<100 where open == 0 {
            try await Task.sleep(for: .milliseconds(10))
            open = await pool.statistics.open
        }
        var waiting = 0
        let waiter = Task { try await pool.pipeline([Statement("SELECT 1")]) }
        for _ in 0..<100 where waiting == 0 {
            try await Task.sleep(for: .milliseconds(10))
            waiting = await pool.statistics.waiting
        }
        #expect(waiting == 1)
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(await pool.statistics.waiting == 0)
        _ = try await holder.value
        #expect(try await pool.pipeline([Statement("SELECT 7")]).results.get()[0].int(0, 0) == 7)
        await pool.shutdown()
    }
}

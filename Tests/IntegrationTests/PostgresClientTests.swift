import DevEnvironment
import Foundation
import LocalPostgres
import Logging
import PostgresClient
import Synchronization
import Testing

@Suite("libpq layer and pool")
struct PostgresClientTests {
    func scratchConnection() async throws -> PostgresConnection {
        let deployment = try await TestCluster.shared.deployment("client")
        return try PostgresConnection.connect(try deployment.superuserURL)
    }

    @Test("results are typed; NULL is nil")
    func typedResults() async throws {
        let connection = try await scratchConnection()
        defer { connection.close() }
        let id = UUID()
        let result = try connection.query(
            "SELECT $1::int + 1, $2::bool, $3::uuid, $4::bytea, NULL::text, $5::text",
            [41, true, id, ByteaParameter([0, 1, 255]), "O'Brien; DROP TABLE x; --"])
        #expect(result.int(0, 0) == 42)
        #expect(result.bool(0, 1) == true)
        #expect(result.uuid(0, 2) == id)
        #expect(result.bytea(0, 3) == [0, 1, 255])
        #expect(result.string(0, 4) == nil && result.isNull(0, 4))
        #expect(result.string(0, 5) == "O'Brien; DROP TABLE x; --")
        #expect(result.columnName(0) == "?column?")
    }

    @Test("errors carry SQLSTATE, message, detail, hint and constraint; a failed pipeline rolls back and the connection goes on")
    func typedErrorsAndRollback() async throws {
        let connection = try await scratchConnection()
        defer { connection.close() }
        try connection.executeScript("CREATE TABLE things (id int CONSTRAINT things_id_unique UNIQUE)")
        do {
            _ = try connection.pipeline([
                Statement("INSERT INTO things VALUES ($1)", [1]),
                Statement("INSERT INTO things VALUES ($1)", [1]),
                Statement("INSERT INTO things VALUES ($1)", [2]),
            ])
            Issue.record("the duplicate must fail")
        } catch {
            let server = try #require(error.serverError)
            #expect(server.sqlState == .uniqueViolation)
            #expect(server.constraint == "things_id_unique")
            #expect(server.table == "things")
            #expect(server.detail?.contains("(id)=(1)") == true)
        }
        #expect(try connection.query("SELECT count(*) FROM things").int(0, 0) == 0, "the whole pipeline rolled back")
        do {
            try connection.executeScript(
                "DO $$ BEGIN RAISE EXCEPTION 'nope' USING ERRCODE = 'EX123', DETAIL = 'the detail', HINT = 'the hint'; END $$")
            Issue.record("must fail")
        } catch {
            let server = try #require(error.serverError)
            #expect(server.sqlState.rawValue == "EX123")
            #expect(server.message == "nope" && server.detail == "the detail" && server.hint == "the hint")
        }
        #expect(try connection.query("SELECT 1").int(0, 0) == 1)
    }

    @Test("an error at the pipeline's commit (a deferred constraint) is reported, rolls back, and the connection goes on")
    func commitTimeError() async throws {
        let connection = try await scratchConnection()
        defer { connection.close() }
        try connection.executeScript("""
            CREATE TABLE parents (id int PRIMARY KEY);
            CREATE TABLE children (parent int CONSTRAINT children_parent_fk REFERENCES parents DEFERRABLE INITIALLY DEFERRED)
            """)
        do {
            let results = try connection.pipeline([
                Statement("INSERT INTO children VALUES ($1)", [7]),
                Statement("SELECT count(*) FROM children"),
            ])
            Issue.record("the commit must fail, got \(results.count) results")
        } catch {
            let server = try #require(error.serverError)
            #expect(server.sqlState == .foreignKeyViolation)
            #expect(server.constraint == "children_parent_fk")
        }
        #expect(try connection.query("SELECT count(*) FROM children").int(0, 0) == 0)
        let results = try connection.pipeline([Statement("SELECT $1::int + 1", [41])])
        #expect(results[0].int(0, 0) == 42)
    }

    @Test("prepared statements are reused per connection and survive errors")
    func preparedStatements() async throws {
        let connection = try await scratchConnection()
        defer { connection.close() }
        for value in 0..<5 {
            let result = try connection.pipeline([Statement("SELECT $1::int * 2", [value]), Statement("SELECT $1::int * 2", [value + 1])])
            #expect(result.map { $0.int(0, 0) } == [value * 2, (value + 1) * 2])
        }
        let prepared = try connection.query("SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT $1::int * 2'")
        #expect(prepared.int(0, 0) == 1)
        #expect(throws: PostgresError.self) { try connection.pipeline([Statement("SELECT nonsense FROM nowhere")]) }
        #expect(try connection.pipeline([Statement("SELECT $1::int * 2", [21])])[0].int(0, 0) == 42)
    }

    @Test("an exhausted pool makes the caller wait at most the acquire timeout, then fails clearly")
    func exhaustion() async throws {
        let deployment = try await TestCluster.shared.deployment("exhaust")
        let pool = ConnectionPool(configuration: .init(
            conninfo: try deployment.superuserURL, maximumConnections: 1, acquireTimeout: .milliseconds(200)))
        let holderDone = Mutex(false)
        let holder = Task {
            // Long enough that a loaded machine's slow waiters still finish first (3 s once did not in the full suite).
            _ = try await pool.withConnection { try $0.query("SELECT pg_sleep(8)") }
            holderDone.withLock { $0 = true }
        }
        try await Task.sleep(for: .milliseconds(300))
        // The waiter gives up after its own timeout, while the holder still has the only connection: the
        // wait is bounded by the configuration, not by the holder.
        do {
            _ = try await pool.withConnection { try $0.query("SELECT 1") }
            Issue.record("the pool had no free connection")
        } catch PoolError.acquireTimedOut(let milliseconds) {
            #expect(milliseconds == 200)
            #expect(holderDone.withLock { $0 } == false)
        }
        // Several waiters at once: each fails at its own deadline (one expiry task serves them all).
        let waiters = (0..<3).map { _ in
            Task { () -> Bool in
                do {
                    _ = try await pool.withConnection { try $0.query("SELECT 1") }
                    return false
                } catch PoolError.acquireTimedOut {
                    return true
                }
            }
        }
        for waiter in waiters { #expect(try await waiter.value, "timed out") }
        #expect(holderDone.withLock { $0 } == false)
        _ = try await holder.value
        #expect(try await pool.withConnection { try $0.query("SELECT 7").int(0, 0) } == 7)
        await pool.shutdown()
    }

    @Test("a terminated backend is replaced transparently")
    func killedBackendIsReplaced() async throws {
        let deployment = try await TestCluster.shared.deployment("kill")
        let pool = ConnectionPool(configuration: .init(conninfo: try deployment.superuserURL, maximumConnections: 1))
        let first = try await pool.withConnection { $0.backendPID }
        let killer = try PostgresConnection.connect(try deployment.superuserURL)
        defer { killer.close() }
        #expect(try killer.query("SELECT pg_terminate_backend($1)", [first]).bool(0, 0) == true)
        for _ in 0..<50 where try killer.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [first]).int(0, 0) != 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
        let second = try await pool.withConnection { $0.backendPID }
        #expect(second != first)
        #expect(await pool.statistics.replaced == 1)
        await pool.shutdown()
    }

    @Test("the background health check closes idle connections whose backend died")
    func backgroundHealthCheck() async throws {
        let deployment = try await TestCluster.shared.deployment("health")
        let pool = ConnectionPool(configuration: .init(
            conninfo: try deployment.superuserURL, maximumConnections: 2, healthCheckInterval: .milliseconds(100)))
        let checker = Task { await pool.run() }
        let pid = try await pool.withConnection { $0.backendPID }
        #expect(await pool.statistics.open == 1)
        let killer = try PostgresConnection.connect(try deployment.superuserURL)
        defer { killer.close() }
        try killer.query("SELECT pg_terminate_backend($1)", [pid])
        var open = 1
        for _ in 0..<200 where open != 0 {
            try await Task.sleep(for: .milliseconds(50))
            open = await pool.statistics.open
        }
        #expect(open == 0, "the dead idle connection was closed without anyone asking for it")
        checker.cancel()
        await pool.shutdown()
    }

    @Test("libpq's sslmode works as documented, and after a PostgreSQL restart the pool reconnects by itself")
    func tlsAndRestart() async throws {
        let base = try await TestCluster.shared.base()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("engagement-restart-\(randomToken(bytes: 4))")
        defer { try? FileManager.default.removeItem(at: directory) }
        var cluster = try LocalCluster.createOrReuse(at: directory, logger: Logger(label: "restart"))
        try cluster.start(tls: (base.certificates.server.certificate, base.certificates.server.privateKey))
        defer { try? cluster.stop() }

        let verified = try Conninfo.replacing(
            ["sslmode": "verify-ca", "sslrootcert": base.certificates.caFile.path], in: cluster.url())
        let secure = try PostgresConnection.connect(verified)
        #expect(try secure.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").bool(0, 0) == true)
        secure.close()
        let wrongCA = base.directory.appendingPathComponent("stranger-tls/ca.pem").path
        #expect(throws: PostgresError.self) {
            try PostgresConnection.connect(try Conninfo.replacing(["sslmode": "verify-ca", "sslrootcert": wrongCA], in: cluster.url()))
        }
        let plain = try PostgresConnection.connect(cluster.url())  // sslmode=disable
        #expect(try plain.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").bool(0, 0) == false)
        plain.close()

        let pool = ConnectionPool(configuration: .init(conninfo: verified, maximumConnections: 2))
        #expect(try await pool.withConnection { try $0.query("SELECT 1").int(0, 0) } == 1)
        try cluster.restart()
        var answer: Int? = nil
        for _ in 0..<20 where answer == nil {
            answer = try? await pool.withConnection { try $0.query("SELECT 2").int(0, 0) }
            if answer == nil { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(answer == 2)
        await pool.shutdown()
    }

    @Test("conninfo overrides keep every other setting and quote values")
    func conninfoOverrides() throws {
        let derived = try Conninfo.replacing(
            ["user": "engagement_app", "password": "it's a \\ secret"], in: "postgresql://postgres:pw@127.0.0.1:5555/db?sslmode=require")
        #expect(derived.contains("host='127.0.0.1'") && derived.contains("port='5555'") && derived.contains("dbname='db'"))
        #expect(derived.contains("sslmode='require'"))
        #expect(derived.contains("user='engagement_app'"))
        #expect(derived.contains(#"password='it\'s a \\ secret'"#))
    }
}

import Foundation
import PostgresClient
import Testing

/// Waiting for the server's calls to reach PostgreSQL, seen from PostgreSQL itself: on a loaded machine a call can
/// take long to get there, so tests that need a call in flight wait for it instead of pausing a fixed time.
extension ServerFixture {
    /// Waits (up to 20 s) until at least `count` of the server's calls of `test.sleep` or `test.tenant_sleep` are
    /// sleeping in its database; records an issue if they never are.
    func waitForSleeps(atLeast count: Int) async throws {
        try await waitUntil(atLeast: count, "calls sleeping in PostgreSQL", """
            SELECT count(*) FROM pg_stat_activity
            WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active' AND datname = current_database()
            """)
    }

    /// Waits (up to 20 s) until at least `count` of the server's calls wait for an advisory lock (`test.wait_for_lock`).
    func waitForLockWaiters(atLeast count: Int) async throws {
        try await waitUntil(atLeast: count, "calls waiting for the test's lock", """
            SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
            WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()
            """)
    }

    /// Waits (up to 20 s) until the server refuses new connections: its graceful shutdown has begun.
    func waitUntilRefusingConnections() async throws {
        for _ in 0..<400 {
            guard let probe = try? await connect() else { return }
            await probe.close()
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the server still accepted connections 20 s later")
    }

    /// Takes the advisory lock `key` in a connection of its own, which `test.wait_for_lock` calls then wait for;
    /// closing the connection releases it.
    func holdLock(_ key: Int) throws -> PostgresConnection {
        let holder = try ownerConnection()
        _ = try holder.query("SELECT pg_advisory_lock($1::bigint)", [key])
        return holder
    }

    private func waitUntil(atLeast count: Int, _ what: String, _ countQuery: String) async throws {
        let superuser = try superuserConnection()
        defer { superuser.close() }
        var seen = 0
        for _ in 0..<400 {
            seen = try await onOwnThread { try superuser.query(countQuery).int(0, 0) ?? 0 }
            if seen >= count { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("after 20 s only \(seen) of \(count) \(what)")
    }
}

import DatabaseSetup
import DevEnvironment
import Foundation
import LocalPostgres
import PostgresClient
import Testing

@Suite("Migrations")
struct MigrationTests {
    @Test("migrations apply in order, are recorded with checksums, and a second run does nothing")
    func appliesInOrder() async throws {
        let url = try await TestCluster.shared.emptyDatabase("migrate")
        let connection = try PostgresConnection.connect(url)
        defer { connection.close() }
        let migrator = Migrator(migrations: TestCluster.migrations)
        let applied = try migrator.migrate(connection)
        #expect(applied == TestCluster.migrations.map(\.version))
        #expect(applied == applied.sorted())
        let recorded = try migrator.appliedMigrations(connection)
        #expect(recorded.map(\.version) == applied)
        #expect(recorded.map(\.checksum) == TestCluster.migrations.map(\.checksum))
        #expect(try migrator.migrate(connection).isEmpty)
    }

    @Test("an applied migration whose file changed is refused, and nothing is applied")
    func checksumRefusal() async throws {
        let url = try await TestCluster.shared.emptyDatabase("migrate")
        let connection = try PostgresConnection.connect(url)
        defer { connection.close() }
        try Migrator(migrations: TestCluster.migrations).migrate(connection)
        var edited = TestCluster.migrations
        edited[1] = Migration(version: edited[1].version, name: edited[1].name, sql: edited[1].sql + "\n-- edited\n")
        edited.append(Migration(version: 9000, name: "later", sql: "CREATE TABLE app.later (id int);"))
        #expect {
            try Migrator(migrations: edited).migrate(connection)
        } throws: { error in
            guard case MigrationError.checksumMismatch(let version, _, _, _) = error else { return false }
            return version == edited[1].version && "\(error)".contains("edited after it was applied")
        }
        #expect(try connection.query("SELECT to_regclass('app.later') IS NULL").bool(0, 0) == true)
    }

    @Test("a failing migration is rolled back and not recorded; a new file sorting before applied ones is refused")
    func failureAndOrder() async throws {
        let url = try await TestCluster.shared.emptyDatabase("migrate")
        let connection = try PostgresConnection.connect(url)
        defer { connection.close() }
        let broken = TestCluster.migrations + [
            Migration(version: 9000, name: "broken", sql: "CREATE TABLE app.half (id int);\nSELECT 1/0;")
        ]
        #expect(throws: MigrationError.self) { try Migrator(migrations: broken).migrate(connection) }
        #expect(try connection.query("SELECT to_regclass('app.half') IS NULL").bool(0, 0) == true)
        #expect(try Migrator(migrations: broken).appliedMigrations(connection).map(\.version) == TestCluster.migrations.map(\.version))

        let later = TestCluster.migrations + [Migration(version: 9000, name: "ok", sql: "SELECT 1;")]
        try Migrator(migrations: later).migrate(connection)
        let early = later + [Migration(version: 8000, name: "early", sql: "SELECT 1;")]
        #expect {
            try Migrator(migrations: early).migrate(connection)
        } throws: { error in
            if case MigrationError.outOfOrder(8000, _, 9000) = error { return true }
            return false
        }
        #expect {
            try Migrator(migrations: TestCluster.migrations).migrate(connection)
        } throws: { error in
            if case MigrationError.unknownAppliedMigration(9000, _) = error { return true }
            return false
        }
    }

    @Test("concurrent runs are serialised: each migration is applied exactly once")
    func concurrentRuns() async throws {
        let url = try await TestCluster.shared.emptyDatabase("migrate")
        let results = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try await Task.detached {
                        let connection = try PostgresConnection.connect(url)
                        defer { connection.close() }
                        return try Migrator(migrations: TestCluster.migrations).migrate(connection)
                    }.value
                }
            }
            var all: [[Int]] = []
            for try await applied in group { all.append(applied) }
            return all
        }
        #expect(results.flatMap { $0 }.sorted() == TestCluster.migrations.map(\.version))
        #expect(results.filter { !$0.isEmpty }.count == 1)
    }

    @Test("migration files must be named NNNN_name.sql with unique versions")
    func fileNames() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(randomToken(bytes: 4))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "SELECT 1;".write(to: directory.appendingPathComponent("0002_b.sql"), atomically: true, encoding: .utf8)
        try "SELECT 1;".write(to: directory.appendingPathComponent("0001_a.sql"), atomically: true, encoding: .utf8)
        try "notes".write(to: directory.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)
        #expect(try Migration.load(from: directory).map(\.name) == ["a", "b"])
        try "SELECT 1;".write(to: directory.appendingPathComponent("0002_c.sql"), atomically: true, encoding: .utf8)
        #expect(throws: MigrationError.self) { try Migration.load(from: directory) }
        try FileManager.default.removeItem(at: directory.appendingPathComponent("0002_c.sql"))
        try "SELECT 1;".write(to: directory.appendingPathComponent("3_bad.sql"), atomically: true, encoding: .utf8)
        #expect(throws: MigrationError.self) { try Migration.load(from: directory) }
    }
}

import DatabaseSetup
import DevCertificates
import DevEnvironment
import Foundation
import LocalPostgres
import Logging
import PostgresClient
import Synchronization

/// The PostgreSQL server of this test run: `DATABASE_URL` (a superuser URL) when set, otherwise a private
/// cluster created in a temporary directory, started once, stopped and removed when the process exits.
/// Each fixture gets its own freshly migrated database on it.
actor TestCluster {
    static let shared = TestCluster()

    struct Base: Sendable {
        let superuserConninfo: String
        let directory: URL
        let certificates: Certificates
    }

    struct Certificates: Sendable {
        let caFile: URL
        let server: DevCertificateAuthority.IssuedFiles
        let client: DevCertificateAuthority.IssuedFiles
        /// A client certificate from a different CA: must be refused under mutual TLS.
        let strangerClient: DevCertificateAuthority.IssuedFiles
    }

    private var starting: Task<Base, any Error>?
    static let schema = try! SchemaSource.locate()
    static let migrations: [Migration] = schema.migrations
    static let ownerPassword = randomToken()
    static let applicationPassword = randomToken()

    func base() async throws -> Base {
        if let starting { return try await starting.value }
        let task = Task { try Self.start() }
        starting = task
        return try await task.value
    }

    /// A new database with every migration applied.
    func deployment(_ label: String) async throws -> LocalDeployment {
        let base = try await base()
        let name = "t_\(label)_\(randomToken(bytes: 4))"
        let deployment = try LocalDeployment.prepare(
            superuserConninfo: base.superuserConninfo, database: name, ownerPassword: Self.ownerPassword,
            applicationPassword: Self.applicationPassword, schema: Self.schema, logger: Logger(label: "test"))
        if let workers = Self.citusWorkers { try CitusDistribution.distribute(deployment, workers: workers) }
        return deployment
    }

    /// `CITUS_WORKERS=host:port,host:port` with `DATABASE_URL` naming a Citus coordinator: every test database is
    /// distributed as an operator does it (docs/scaling.md), so the suite (or a filtered part of it) runs on Citus.
    /// Not used in CI, which has no Citus; how to run it and what passed: docs/scaling.md.
    static let citusWorkers: [(host: String, port: String)]? = ProcessInfo.processInfo.environment["CITUS_WORKERS"]
        .map { $0.split(separator: ",").map { worker in
            let parts = worker.split(separator: ":")
            return (String(parts[0]), String(parts.count > 1 ? parts[1] : "5432"))
        } }

    /// A database with the owner role but no migrations applied; returns the owner's conninfo. Runs on this
    /// actor like `deployment`, because concurrent bootstraps would update the same role rows at once.
    func emptyDatabase(_ label: String) async throws -> String {
        let base = try await base()
        let name = "t_\(label)_\(randomToken(bytes: 4))"
        let superuser = try PostgresConnection.connect(base.superuserConninfo)
        defer { superuser.close() }
        try DatabaseBootstrap.prepare(superuser: superuser, database: name, ownerPassword: Self.ownerPassword)
        return try Conninfo.replacing(
            ["dbname": name, "user": DatabaseBootstrap.ownerRole, "password": Self.ownerPassword], in: base.superuserConninfo)
    }

    private static func start() throws -> Base {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("engagement-tests-\(randomToken(bytes: 6))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        registerCleanup { try? FileManager.default.removeItem(at: directory) }
        let superuser: String
        if let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty {
            superuser = url
        } else {
            var cluster = try LocalCluster.createOrReuse(at: directory.appendingPathComponent("postgres"))
            try cluster.start()
            let started = cluster
            registerCleanup { try? started.stop() }
            superuser = cluster.url()
        }
        let tls = directory.appendingPathComponent("tls")
        let authority = try DevCertificateAuthority.loadOrCreate(in: tls)
        let stranger = try DevCertificateAuthority.loadOrCreate(
            in: directory.appendingPathComponent("stranger-tls"), commonName: "someone else's CA")
        let certificates = Certificates(
            caFile: authority.certificateFile, server: try authority.serverCertificate(in: tls),
            client: try authority.clientCertificate(commonName: "test client", in: tls, fileName: "client"),
            strangerClient: try stranger.clientCertificate(
                commonName: "stranger", in: directory.appendingPathComponent("stranger-tls"), fileName: "client"))
        return Base(superuserConninfo: superuser, directory: directory, certificates: certificates)
    }
}

/// Work to do when the test process exits (stop the private cluster, remove its directory), newest first.
private let cleanups = Mutex<[@Sendable () -> Void]>([])

func registerCleanup(_ work: @escaping @Sendable () -> Void) {
    let isFirst = cleanups.withLock { list -> Bool in
        list.append(work)
        return list.count == 1
    }
    if isFirst {
        atexit {
            let work = cleanups.withLock { list -> [@Sendable () -> Void] in
                defer { list.removeAll() }
                return list
            }
            for item in work.reversed() { item() }
        }
    }
}

/// The operator's steps onto Citus for one test database: the database and the extension on every worker, the
/// workers added, `engagementctl distribute`'s work with four shards.
enum CitusDistribution {
    static func distribute(_ deployment: LocalDeployment, workers: [(host: String, port: String)]) throws {
        for worker in workers {
            let server = try PostgresConnection.connect(
                try Conninfo.replacing(["host": worker.host, "port": worker.port, "dbname": "postgres"], in: deployment.superuserURL))
            try server.executeScript("CREATE DATABASE \(try server.escapeIdentifier(deployment.database))")
            server.close()
            let database = try PostgresConnection.connect(
                try Conninfo.replacing(["host": worker.host, "port": worker.port], in: deployment.superuserURL))
            try database.executeScript("CREATE EXTENSION citus")
            database.close()
        }
        let coordinator = try PostgresConnection.connect(deployment.superuserURL)
        defer { coordinator.close() }
        try coordinator.executeScript("SET client_min_messages = warning; CREATE EXTENSION citus")
        _ = try coordinator.query(
            "SELECT citus_set_coordinator_host(coalesce(host(inet_server_addr()), 'localhost'), current_setting('port')::int)")
        for worker in workers { _ = try coordinator.query("SELECT citus_add_node($1, $2::int)", [worker.host, worker.port]) }
        _ = try Distribution.distribute(coordinator, schema: TestCluster.schema, shardCount: 4)
    }
}

/// A PostgreSQL cluster of a test's own (faults that stop or kill it, a replica of it), started, with one migrated
/// database; stopped and removed when the process exits.
enum PrivateCluster {
    static func start(in directory: URL, database: String, label: String) throws -> (LocalCluster, LocalDeployment) {
        var cluster = try LocalCluster.createOrReuse(at: directory, logger: Logger(label: label))
        try cluster.start()
        let started = cluster
        registerCleanup { try? started.stop() }
        let deployment = try LocalDeployment.prepare(
            superuserConninfo: cluster.url(), database: database, ownerPassword: TestCluster.ownerPassword,
            applicationPassword: TestCluster.applicationPassword, schema: TestCluster.schema, logger: Logger(label: label))
        return (cluster, deployment)
    }
}

import DevEnvironment
import EngagementClient
import EngagementService
import Foundation
import JSONRPC
import Logging
import PostgresClient
import ServiceLifecycle
import TenantAdministration

/// A running server on its own migrated database, with two organisations (A and B), each with an admin key.
struct ServerFixture: Sendable {
    struct Organisation: Sendable {
        let id: UUID
        let name: String
        let apiKey: String
    }

    let deployment: LocalDeployment
    let application: EngagementApplication
    let group: ServiceGroup
    let running: Task<Void, any Error>
    let certificates: TestCluster.Certificates
    let orgA: Organisation
    let orgB: Organisation

    var port: Int { application.server.port }

    static func start(
        _ label: String, registry: MethodRegistry = .standard(), logger: Logger = Logger(label: "test-server"),
        deployment prepared: LocalDeployment? = nil,
        configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> ServerFixture {
        let base = try await TestCluster.shared.base()
        let deployment: LocalDeployment
        if let prepared { deployment = prepared } else { deployment = try await TestCluster.shared.deployment(label) }
        let (orgA, orgB) = try seedOrganisations(deployment)
        var configuration = try Self.configuration(for: deployment, base: base)
        configure(&configuration)
        let application = try await EngagementApplication.start(configuration: configuration, registry: registry, logger: logger)
        let group = ServiceGroup(configuration: .init(services: application.services.map { .init(service: $0) }, logger: logger))
        let running = Task { try await group.run() }
        return ServerFixture(
            deployment: deployment, application: application, group: group, running: running,
            certificates: base.certificates, orgA: orgA, orgB: orgB)
    }

    /// The tests' server configuration on `deployment`: any free ports, a pool of 4, results checked. (It takes
    /// `base` rather than asking the cluster actor again: that actor prepares every test's database in turn, and a
    /// second wait behind the whole queue would start all servers at once, beyond max_connections.)
    static func configuration(for deployment: LocalDeployment, base: TestCluster.Base) throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.metricsPort = 0
        configuration.certificateFile = base.certificates.server.certificate.path
        configuration.privateKeyFile = base.certificates.server.privateKey.path
        configuration.databaseURL = try deployment.applicationURL
        configuration.databasePoolSize = 4
        // The rollup listener keeps a connection busy in libpq (and OpenSSL) all the time; fixtures are stopped
        // asynchronously, so a listener still running when the test process exits could be inside OpenSSL while
        // exit handlers tear it down. Tests that need it turn it on and stop their server before returning.
        configuration.rollupDebounce = .zero
        // Every reply of every test is checked against the method's declared result schema.
        configuration.checksResultSchemas = true
        return configuration
    }

    static func seedOrganisations(_ deployment: LocalDeployment) throws -> (Organisation, Organisation) {
        let owner = try PostgresConnection.connect(try deployment.ownerURL)
        defer { owner.close() }
        let admin = TenantAdministrator(owner: owner)
        func make(_ name: String, _ email: String) throws -> Organisation {
            let (organisation, _) = try admin.createOrganisation(name: name, adminEmail: email)
            let key = try admin.issueKey(organisationID: organisation.id)
            return Organisation(id: organisation.id, name: name, apiKey: key.key.text)
        }
        return (try make("Organisation A", "admin@a.example"), try make("Organisation B", "admin@b.example"))
    }

    func connect(clientCertificate: Bool = false) async throws -> RPCConnection {
        try await RPCConnection.connect(
            host: "127.0.0.1", port: port,
            tls: ClientTLS(
                caFile: certificates.caFile.path,
                certificateFile: clientCertificate ? certificates.client.certificate.path : nil,
                privateKeyFile: clientCertificate ? certificates.client.privateKey.path : nil))
    }

    /// A connection already authenticated as `organisation`'s admin.
    func session(_ organisation: Organisation) async throws -> RPCConnection {
        let connection = try await connect()
        let reply = try await connection.call("session.authenticate", ["api_key": .string(organisation.apiKey)])
        guard reply["result"] != nil else { throw FixtureError.authenticationFailed(JSONWriter.string(reply)) }
        return connection
    }

    /// An owner connection (bypasses RLS) to inspect or change the database behind the server's back.
    func ownerConnection() throws -> PostgresConnection { try PostgresConnection.connect(try deployment.ownerURL) }
    func superuserConnection() throws -> PostgresConnection { try PostgresConnection.connect(try deployment.superuserURL) }

    /// Runs `body` with this server, then shuts it down gracefully and waits for that: a shutdown that fails
    /// fails the test, and no server outlives its test. The body's own error wins when both fail.
    func scoped<T>(_ body: () async throws -> T) async throws -> T {
        let result: T
        do {
            result = try await body()
        } catch {
            try? await stop()
            throw error
        }
        try await stop()
        return result
    }

    /// Graceful shutdown, as on SIGTERM.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await running.value
    }
}

enum FixtureError: Error { case authenticationFailed(String) }

extension JSONValue {
    /// The `error.code` of a reply, if it is an error.
    var errorCode: Int? { self["error"]?["code"]?.intValue }
    var errorReason: String? { self["error"]?["data"]?["reason"]?.stringValue }
}

extension RPCConnection {
    /// Sends a raw line and reads the next reply as JSON.
    func exchange(_ line: String) async throws -> JSONValue? {
        try await send(line: line)
        return try await nextMessage()
    }
}

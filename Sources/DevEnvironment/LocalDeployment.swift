import DatabaseSetup
import Foundation
import LocalPostgres
import Logging
import PostgresClient

/// A database of a local cluster made ready for the service: owner role and database (bootstrap, as the
/// superuser), migrations (as the owner), and the application role's login.
public struct LocalDeployment: Sendable {
    public let cluster: LocalCluster
    public let database: String
    public let ownerPassword: String
    public let applicationPassword: String

    /// The schema owner's URL: migrations and administration.
    public var ownerURL: String {
        cluster.url(user: DatabaseBootstrap.ownerRole, password: ownerPassword, database: database)
    }

    /// The server's URL: the `engagement_app` role, subject to row-level security.
    public var applicationURL: String {
        cluster.url(user: DatabaseBootstrap.applicationRole, password: applicationPassword, database: database)
    }

    public var superuserURL: String { cluster.url(database: database) }

    public static func prepare(
        cluster: LocalCluster, database: String, ownerPassword: String, applicationPassword: String,
        migrations: [Migration], logger: Logger
    ) throws -> LocalDeployment {
        let superuser = try PostgresConnection.connect(cluster.url())
        defer { superuser.close() }
        try DatabaseBootstrap.prepare(superuser: superuser, database: database, ownerPassword: ownerPassword)
        let deployment = LocalDeployment(
            cluster: cluster, database: database, ownerPassword: ownerPassword, applicationPassword: applicationPassword)
        let owner = try PostgresConnection.connect(deployment.ownerURL)
        defer { owner.close() }
        try Migrator(migrations: migrations, logger: logger).migrate(owner)
        try DatabaseBootstrap.enableApplicationLogin(owner: owner, password: applicationPassword)
        return deployment
    }
}

import DatabaseSetup
import Foundation
import Logging
import PostgresClient

/// A database made ready for the service on any PostgreSQL server we have a superuser for: owner role and
/// database (bootstrap, as the superuser), migrations (as the owner), and the application role's login.
public struct LocalDeployment: Sendable {
    /// A superuser conninfo or URL of the server.
    public let superuserConninfo: String
    public let database: String
    public let ownerPassword: String
    public let applicationPassword: String

    /// The schema owner's conninfo: migrations and administration.
    public var ownerURL: String {
        get throws {
            try Conninfo.replacing(
                ["dbname": database, "user": DatabaseBootstrap.ownerRole, "password": ownerPassword],
                in: superuserConninfo)
        }
    }

    /// The server's conninfo: the `engagement_app` role, subject to row-level security.
    public var applicationURL: String {
        get throws {
            try Conninfo.replacing(
                ["dbname": database, "user": DatabaseBootstrap.applicationRole, "password": applicationPassword],
                in: superuserConninfo)
        }
    }

    /// The superuser on this deployment's database.
    public var superuserURL: String {
        get throws { try Conninfo.replacing(["dbname": database], in: superuserConninfo) }
    }

    public static func prepare(
        superuserConninfo: String, database: String, ownerPassword: String, applicationPassword: String,
        schema: SchemaSource, logger: Logger
    ) throws -> LocalDeployment {
        let superuser = try PostgresConnection.connect(superuserConninfo)
        defer { superuser.close() }
        try DatabaseBootstrap.prepare(superuser: superuser, database: database, ownerPassword: ownerPassword)
        let deployment = LocalDeployment(
            superuserConninfo: superuserConninfo, database: database, ownerPassword: ownerPassword,
            applicationPassword: applicationPassword)
        let owner = try PostgresConnection.connect(try deployment.ownerURL)
        defer { owner.close() }
        try Migrator(schema, logger: logger).migrate(owner)
        try DatabaseBootstrap.enableApplicationLogin(owner: owner, password: applicationPassword)
        return deployment
    }
}

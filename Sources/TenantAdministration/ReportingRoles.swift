import Credentials
import Foundation
import PostgresClient

extension TenantAdministrator {
    /// A reporting login: a PostgreSQL role that reads the `reporting` schema of one organisation.
    public struct ReportingRole: Sendable, Hashable {
        public let name: String
        /// Shown once; PostgreSQL keeps only a SCRAM verifier.
        public let password: String
    }

    /// Creates a reporting login for an organisation with a fresh random password.
    public func createReportingRole(organisationID: UUID, name: String) throws(Failure) -> ReportingRole {
        let password = RandomSecrets.reportingPassword()
        do {
            let verifier = try connection.scramVerifier(password: password, role: name)
            try connection.query("SELECT app.create_reporting_role_for($1::uuid, $2, $3)", [organisationID, name, verifier])
        } catch {
            throw .database(error)
        }
        return ReportingRole(name: name, password: password)
    }

    /// Drops an organisation's reporting login; false when it has none of that name.
    @discardableResult
    public func dropReportingRole(organisationID: UUID, name: String) throws(Failure) -> Bool {
        do {
            return try connection.query("SELECT app.drop_reporting_role_for($1::uuid, $2)", [organisationID, name]).bool(0, 0) ?? false
        } catch {
            throw .database(error)
        }
    }

    public func listReportingRoles(organisationID: UUID) throws(Failure) -> [(name: String, createdAt: String)] {
        do {
            let result = try connection.query(
                "SELECT role_name, created_at::text FROM app.reporting_roles WHERE organisation_id = $1::uuid ORDER BY role_name",
                [organisationID])
            return (0..<result.rowCount).map { (result.string($0, 0) ?? "", result.string($0, 1) ?? "") }
        } catch {
            throw .database(error)
        }
    }
}

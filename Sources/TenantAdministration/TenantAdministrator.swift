import Credentials
import Foundation
import PostgresClient

/// Operations of the platform operator, run as the schema owner (which administers every organisation):
/// creating organisations, their users and API keys, and revoking keys. Used by `engagementctl` and by the
/// dev mode's demo data; the admin-only RPC methods of a later issue reuse the same SQL under RLS.
public struct TenantAdministrator: Sendable {
    public enum Role: String, Sendable, CaseIterable { case admin, manager, member, viewer }

    public struct Organisation: Sendable, Hashable {
        public let id: UUID
        public let name: String
    }

    public struct User: Sendable, Hashable {
        public let organisationID: UUID
        public let id: UUID
        public let email: String
        public let role: Role
    }

    public struct IssuedKey: Sendable {
        public let key: APIKey
        public let id: UUID
        public let user: User
    }

    public struct KeyListing: Sendable, Hashable {
        public let id: UUID
        public let keyID: String
        public let userEmail: String
        public let label: String
        public let createdAt: String
        public let revokedAt: String?
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case organisationNotFound(String)
        case userNotFound(String)
        case keyNotFound(String)
        case database(PostgresError)
        public var description: String {
            switch self {
            case .organisationNotFound(let org): "no organisation \(org)"
            case .userNotFound(let user): "no user \(user) in that organisation"
            case .keyNotFound(let key): "no active key \(key) in that organisation"
            case .database(let error): error.description
            }
        }
    }

    let connection: PostgresConnection

    public init(owner connection: PostgresConnection) { self.connection = connection }

    /// Creates an organisation with its first admin user.
    public func createOrganisation(name: String, adminEmail: String, adminName: String = "Administrator")
        throws(Failure) -> (Organisation, User)
    {
        try wrap {
            let org = try connection.query("INSERT INTO app.organisations (name) VALUES ($1) RETURNING id", [name])
            let id = org.uuid(0, 0)!
            let user = try createUser(organisationID: id, email: adminEmail, name: adminName, role: .admin)
            return (Organisation(id: id, name: name), user)
        }
    }

    public func createUser(organisationID: UUID, email: String, name: String, role: Role) throws(PostgresError) -> User {
        let result = try connection.query(
            "INSERT INTO app.users (organisation_id, email, display_name, role) VALUES ($1, $2, $3, $4) RETURNING id",
            [organisationID, email, name, role.rawValue])
        return User(organisationID: organisationID, id: result.uuid(0, 0)!, email: email, role: role)
    }

    /// Finds an organisation by id or by exact name.
    public func organisation(_ idOrName: String) throws(Failure) -> Organisation {
        try wrap {
            let result = try connection.query(
                "SELECT id, name FROM app.organisations WHERE id::text = $1 OR name = $1 ORDER BY created_at LIMIT 2",
                [idOrName])
            guard result.rowCount == 1, let id = result.uuid(0, 0), let name = result.string(0, 1) else {
                throw Failure.organisationNotFound(idOrName)
            }
            return Organisation(id: id, name: name)
        }
    }

    /// Issues a key for a user (by email; the organisation's first admin when nil). The key text is in the
    /// result only; the database keeps its hash.
    public func issueKey(organisationID: UUID, userEmail: String? = nil, label: String = "") throws(Failure) -> IssuedKey {
        try wrap {
            let users = try connection.query(
                """
                SELECT id, email, role FROM app.users
                WHERE organisation_id = $1 AND disabled_at IS NULL
                  AND ($2::text IS NULL OR lower(email) = lower($2::text))
                  AND ($2::text IS NOT NULL OR role = 'admin')
                ORDER BY created_at LIMIT 1
                """, [organisationID, userEmail])
            guard users.rowCount == 1, let userID = users.uuid(0, 0), let email = users.string(0, 1),
                let role = users.string(0, 2).flatMap(Role.init(rawValue:))
            else { throw Failure.userNotFound(userEmail ?? "(first admin)") }
            let key = APIKey.generate()
            let inserted = try connection.query(
                """
                INSERT INTO app.api_keys (organisation_id, user_id, key_id, key_hash, label)
                VALUES ($1, $2, $3, $4, $5) RETURNING id
                """, [organisationID, userID, key.keyID, ByteaParameter(key.hash), label])
            let user = User(organisationID: organisationID, id: userID, email: email, role: role)
            return IssuedKey(key: key, id: inserted.uuid(0, 0)!, user: user)
        }
    }

    /// Revokes a key by its key id (the 16 hex characters after `esk_`) or its full text.
    public func revokeKey(organisationID: UUID, key keyIDOrText: String) throws(Failure) {
        let keyID = APIKey(parsing: keyIDOrText)?.keyID ?? keyIDOrText
        try wrap {
            let result = try connection.query(
                "UPDATE app.api_keys SET revoked_at = now() WHERE organisation_id = $1 AND key_id = $2 AND revoked_at IS NULL",
                [organisationID, keyID])
            guard result.affectedRows == 1 else { throw Failure.keyNotFound(keyID) }
        }
    }

    public func listKeys(organisationID: UUID) throws(Failure) -> [KeyListing] {
        try wrap {
            let result = try connection.query(
                """
                SELECT k.id, k.key_id, u.email, k.label, k.created_at::text, k.revoked_at::text
                FROM app.api_keys k JOIN app.users u ON u.organisation_id = k.organisation_id AND u.id = k.user_id
                WHERE k.organisation_id = $1 ORDER BY k.created_at
                """, [organisationID])
            return (0..<result.rowCount).map {
                KeyListing(
                    id: result.uuid($0, 0)!, keyID: result.string($0, 1)!, userEmail: result.string($0, 2)!,
                    label: result.string($0, 3)!, createdAt: result.string($0, 4)!, revokedAt: result.string($0, 5))
            }
        }
    }

    private func wrap<T>(_ body: () throws -> T) throws(Failure) -> T {
        do {
            return try body()
        } catch let failure as Failure {
            throw failure
        } catch let error as PostgresError {
            throw .database(error)
        } catch {
            throw .database(.clientFailure("\(error)"))
        }
    }
}

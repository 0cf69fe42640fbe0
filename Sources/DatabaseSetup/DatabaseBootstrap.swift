import PostgresClient

/// The one-time, superuser-level setup of a deployment: the schema owner role and the database it owns.
/// After this, everything else (migrations, organisations, keys) runs as the owner; nothing needs a
/// superuser again. `engagementctl bootstrap`, the dev mode and the test harness call it.
public enum DatabaseBootstrap {
    public static let ownerRole = "engagement_owner"
    public static let applicationRole = "engagement_app"

    /// Creates (or updates the password of) the owner role and creates `database` owned by it when missing.
    ///
    /// The owner has BYPASSRLS because it administers every organisation (creating organisations and keys,
    /// running migrations); it is never the server's login role.
    public static func prepare(
        superuser connection: PostgresConnection, database: String, ownerPassword: String
    ) throws(PostgresError) {
        let owner = try connection.escapeIdentifier(ownerRole)
        let verifier = try connection.escapeLiteral(connection.scramVerifier(password: ownerPassword, role: ownerRole))
        let exists = try connection.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [ownerRole]).rowCount > 0
        if exists {
            try connection.executeScript("ALTER ROLE \(owner) LOGIN CREATEROLE BYPASSRLS PASSWORD \(verifier)")
        } else {
            do throws(PostgresError) {
                try connection.executeScript(
                    "CREATE ROLE \(owner) LOGIN CREATEROLE BYPASSRLS NOSUPERUSER PASSWORD \(verifier)")
            } catch {
                // A concurrent bootstrap created it between our check and our CREATE.
                guard error.serverError?.sqlState == SQLState("42710") || error.serverError?.sqlState == .uniqueViolation
                else { throw error }
            }
        }
        let databaseExists = try connection.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]).rowCount > 0
        if !databaseExists {
            try connection.executeScript("CREATE DATABASE \(try connection.escapeIdentifier(database)) OWNER \(owner)")
        }
    }

    /// Lets the application role log in with `password` (run as the owner, after migrations created the role).
    /// The password travels as a SCRAM verifier computed on this side.
    public static func enableApplicationLogin(owner connection: PostgresConnection, password: String) throws(PostgresError) {
        let role = try connection.escapeIdentifier(applicationRole)
        let verifier = try connection.escapeLiteral(connection.scramVerifier(password: password, role: applicationRole))
        try connection.executeScript("ALTER ROLE \(role) LOGIN PASSWORD \(verifier)")
    }
}

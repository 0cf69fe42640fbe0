import Credentials
import DatabaseSetup
import DevCertificates
import Foundation
import JSONRPC
import LocalPostgres
import Logging
import PostgresClient
import TenantAdministration

/// Everything `engagementd dev` needs under one directory (`./.dev` by default):
///
///     .dev/postgres/        the private PostgreSQL cluster (data, log, superuser password)
///     .dev/credentials.json passwords of the owner and application roles (mode 0600)
///     .dev/tls/             dev CA and the localhost server certificate
///     .dev/connection.json  how to reach the running service, with the demo organisations' API keys
///
/// The first run creates it all; later runs reuse the cluster, data, certificates and keys.
public struct DevEnvironment: Sendable {
    public static let databaseName = "engagement"
    public static let demoOrganisations = [
        (name: "Acme Managed Services", email: "admin@acme.example", reportingRole: "acme_reporting", customer: "Umbrella Corp"),
        (name: "Globex Consulting", email: "admin@globex.example", reportingRole: "globex_reporting", customer: "Initrode"),
    ]

    public struct DemoOrganisation: Sendable {
        public let id: String
        public let name: String
        public let apiKey: String
        /// The organisation's DBA login (reporting views only); its password is new at every start.
        public let reporting: TenantAdministrator.ReportingRole
    }

    public let directory: URL
    public let cluster: LocalCluster
    public let deployment: LocalDeployment
    public let serverCertificate: DevCertificateAuthority.IssuedFiles
    public let caFile: URL
    public let organisations: [DemoOrganisation]

    public var connectionFile: URL { directory.appendingPathComponent("connection.json") }

    public static func prepare(directory: URL, schema: SchemaSource, logger: Logger) throws -> DevEnvironment {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var cluster = try LocalCluster.createOrReuse(at: directory.appendingPathComponent("postgres"), logger: logger)
        try cluster.start()
        let credentials = try Credentials.loadOrCreate(directory.appendingPathComponent("credentials.json"))
        let deployment = try LocalDeployment.prepare(
            superuserConninfo: cluster.url(), database: databaseName, ownerPassword: credentials.owner,
            applicationPassword: credentials.application, schema: schema, logger: logger)
        let tls = directory.appendingPathComponent("tls")
        let authority = try DevCertificateAuthority.loadOrCreate(in: tls)
        let serverCertificate = try authority.serverCertificate(in: tls)
        let organisations = try seedDemoOrganisations(
            deployment: deployment, previous: previousKeys(directory.appendingPathComponent("connection.json")))
        return DevEnvironment(
            directory: directory, cluster: cluster, deployment: deployment, serverCertificate: serverCertificate,
            caFile: authority.certificateFile, organisations: organisations)
    }

    /// Writes `connection.json` for the server listening on `host:port` (mode 0600: it holds API keys).
    public func writeConnectionFile(host: String, port: Int, metricsURL: String? = nil) throws {
        var document: JSONObject = [
            "host": .string(host),
            "port": .number(String(port)),
            "ca_file": .string(caFile.standardizedFileURL.path),
            "database_url": .string(cluster.url(
                user: DatabaseBootstrap.ownerRole, password: deployment.ownerPassword, database: deployment.database)),
            "organisations": .array(organisations.map {
                .object([
                    "id": .string($0.id), "name": .string($0.name), "api_key": .string($0.apiKey),
                    "reporting": .object([
                        "user": .string($0.reporting.name), "password": .string($0.reporting.password),
                        "database_url": .string(cluster.url(
                            user: $0.reporting.name, password: $0.reporting.password, database: deployment.database)),
                    ]),
                ])
            }),
        ]
        if let metricsURL { document["metrics_url"] = .string(metricsURL) }
        try Data(JSONWriter.encode(.object(document)) + [UInt8(ascii: "\n")]).write(to: connectionFile, options: .atomic)
        chmod(connectionFile.path, 0o600)
    }

    /// Stops the private PostgreSQL cleanly.
    public func stopDatabase() throws { try cluster.stop() }

    // MARK: demo data

    /// Creates the demo organisations that do not exist yet; reuses the keys of the previous
    /// connection.json while they are still active, issues new ones otherwise.
    static func seedDemoOrganisations(deployment: LocalDeployment, previous: [String: String]) throws -> [DemoOrganisation] {
        let owner = try PostgresConnection.connect(try deployment.ownerURL)
        defer { owner.close() }
        let admin = TenantAdministrator(owner: owner)
        var result: [DemoOrganisation] = []
        for demo in demoOrganisations {
            let organisation: TenantAdministrator.Organisation
            if let existing = try? admin.organisation(demo.name) {
                organisation = existing
            } else {
                organisation = try admin.createOrganisation(name: demo.name, adminEmail: demo.email).0
            }
            let activeKeyIDs = Set(try admin.listKeys(organisationID: organisation.id).filter { $0.revokedAt == nil }.map(\.keyID))
            let key: String
            if let old = previous[organisation.id.uuidString.lowercased()], let parsed = APIKey(parsing: old),
                activeKeyIDs.contains(parsed.keyID)
            {
                key = old
            } else {
                key = try admin.issueKey(organisationID: organisation.id, label: "dev mode").key.text
            }
            if try DemoData.seed(owner: owner, organisationID: organisation.id, customerName: demo.customer),
                let keyID = APIKey(parsing: key)?.keyID
            {
                let application = try PostgresConnection.connect(try deployment.applicationURL)
                defer { application.close() }
                try DemoCloudFirst.apply(application: application, keyID: keyID)
                try DemoCommercial.apply(application: application, keyID: keyID)
            }
            // Recreated at every start so that its password is known and written to connection.json.
            try admin.dropReportingRole(organisationID: organisation.id, name: demo.reportingRole)
            let reporting = try admin.createReportingRole(organisationID: organisation.id, name: demo.reportingRole)
            result.append(DemoOrganisation(
                id: organisation.id.uuidString.lowercased(), name: organisation.name, apiKey: key, reporting: reporting))
        }
        return result
    }

    static func previousKeys(_ file: URL) -> [String: String] {
        guard let data = try? Data(contentsOf: file), let document = try? JSONParser.parse(Array(data)),
            let organisations = document["organisations"]?.arrayValue
        else { return [:] }
        var keys: [String: String] = [:]
        for organisation in organisations {
            if let id = organisation["id"]?.stringValue, let key = organisation["api_key"]?.stringValue { keys[id] = key }
        }
        return keys
    }
}

/// Passwords of the owner and application roles of a local deployment, generated once and kept 0600.
struct Credentials {
    let owner: String
    let application: String

    static func loadOrCreate(_ file: URL) throws -> Credentials {
        if let data = try? Data(contentsOf: file), let document = try? JSONParser.parse(Array(data)),
            let owner = document["owner_password"]?.stringValue, let application = document["application_password"]?.stringValue
        {
            return Credentials(owner: owner, application: application)
        }
        let credentials = Credentials(owner: randomToken(), application: randomToken())
        let document: JSONValue = .object([
            "owner_password": .string(credentials.owner), "application_password": .string(credentials.application),
        ])
        try Data(JSONWriter.encode(document)).write(to: file, options: .atomic)
        chmod(file.path, 0o600)
        return credentials
    }
}

import ArgumentParser
import Foundation
import TenantAdministration

struct Org: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage organisations.", subcommands: [Create.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an organisation with an admin user, and print the admin's first API key (shown once).")

        @OptionGroup var database: OwnerDatabaseOptions
        @Option(help: "Organisation name.") var name: String
        @Option(help: "Email of its first admin user.") var adminEmail: String
        @Option(help: "Display name of that user.") var adminName = "Administrator"

        func run() throws {
            let (organisation, user, issued) = try database.withAdministrator { admin in
                let (organisation, user) = try admin.createOrganisation(name: name, adminEmail: adminEmail, adminName: adminName)
                let issued = try admin.issueKey(organisationID: organisation.id, userEmail: user.email, label: "first admin key")
                return (organisation, user, issued)
            }
            print("organisation \(organisation.id.uuidString.lowercased())  \(organisation.name)")
            print("admin user   \(user.id.uuidString.lowercased())  \(user.email)")
            print("api key      \(issued.key.text)")
            print("(the key is shown once; only its hash is stored)")
        }
    }
}

struct Key: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage API keys.", subcommands: [Create.self, Revoke.self, List.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a key for a user (shown once).")
        @OptionGroup var database: OwnerDatabaseOptions
        @Option(help: "Organisation id or name.") var org: String
        @Option(help: "User email (default: the organisation's first admin).") var user: String?
        @Option(help: "A label to recognise the key by.") var label = ""

        func run() throws {
            let issued = try database.withAdministrator { admin in
                try admin.issueKey(organisationID: try admin.organisation(org).id, userEmail: user, label: label)
            }
            print(issued.key.text)
            FileHandle.standardError.write(Data(
                "key \(issued.key.keyID) for \(issued.user.email) (\(issued.user.role.rawValue)); shown once, only its hash is stored\n".utf8))
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a key; sessions using it fail from their next call.")
        @OptionGroup var database: OwnerDatabaseOptions
        @Option(help: "Organisation id or name.") var org: String
        @Argument(help: "The key id (16 hex characters after esk_) or the whole key.") var key: String

        func run() throws {
            try database.withAdministrator { admin in
                try admin.revokeKey(organisationID: try admin.organisation(org).id, key: key)
            }
            print("revoked")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an organisation's keys (never their secrets).")
        @OptionGroup var database: OwnerDatabaseOptions
        @Option(help: "Organisation id or name.") var org: String

        func run() throws {
            let keys = try database.withAdministrator { admin in
                try admin.listKeys(organisationID: try admin.organisation(org).id)
            }
            for key in keys {
                let state = key.revokedAt.map { "revoked \($0)" } ?? "active"
                print("esk_\(key.keyID)_…  \(key.userEmail)  \(state)  created \(key.createdAt)  \(key.label)")
            }
        }
    }
}

struct ReportingRoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reporting-role",
        abstract: "Manage PostgreSQL logins of an organisation's DBAs (they read the reporting views only).",
        subcommands: [Create.self, Drop.self, List.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a reporting login; prints its password once.")
        @OptionGroup var database: OwnerDatabaseOptions
        @Option(help: "Organisation id or name.") var org: String
        @Option(help: "Role name (lower-case letters, digits, _; unique in the cluster).") var name: String

        func run() throws {
            let role = try database.withAdministrator { admin in
                try admin.createReportingRole(organisationID: try admin.organisation(org).id, name: name)
            }
            print("user      \(role.name)")
            print("password  \(role.password)")
            print("(shown once; connect with psql and query the reporting schema, see docs/reporting.md)")
        }
    }

    struct Drop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop a reporting login.")
        @OptionGroup var database: OwnerDatabaseOptions
        @Option(help: "Organisation id or name.") var org: String
        @Option(help: "Role name.") var name: String

        func run() throws {
            let dropped = try database.withAdministrator { admin in
                try admin.dropReportingRole(organisationID: try admin.organisation(org).id, name: name)
            }
            guard dropped else { throw ValidationError("that organisation has no reporting role \(name)") }
            print("dropped")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an organisation's reporting logins.")
        @OptionGroup var database: OwnerDatabaseOptions
        @Option(help: "Organisation id or name.") var org: String

        func run() throws {
            let roles = try database.withAdministrator { admin in
                try admin.listReportingRoles(organisationID: try admin.organisation(org).id)
            }
            for role in roles { print("\(role.name)  created \(role.createdAt)") }
        }
    }
}

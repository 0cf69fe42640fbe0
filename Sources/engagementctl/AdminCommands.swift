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

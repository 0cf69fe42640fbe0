import Credentials
import EngagementClient
import EngagementService
import Foundation
import JSONRPC
import PostgresClient
import TenantAdministration
import Testing

@Suite("Services")
struct ServiceTests {
    @Test("create, read, update, retire and delete a service; codes are unique per organisation regardless of case")
    func lifecycle() async throws {
        let server = try await ServerFixture.start("service-crud")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let created = try #require(try await a.call(
                "service.create", ["code": "MITS", "name": "Managed IT Support", "description": "24/7"])["result"])
            #expect(created["active"] == true && created["version"] == 1 && created["owner_user_id"] == .null)
            let id = try #require(created["id"])
            #expect(try await a.call("service.get", ["id": id])["result"] == created)

            let clash = try await a.call("service.create", ["code": "mits", "name": "Again"])
            #expect(clash.errorCode == -32004 && clash.errorReason == "already_exists")
            #expect(clash["error"]?["data"]?["fields"]?[0]?["path"] == "params.code", "the param, not the constraint, is named")
            let badCode = try await a.call("service.create", ["code": "no spaces!", "name": "X"])
            #expect(badCode.errorCode == -32602)
            #expect(badCode["error"]?["data"]?["fields"]?.arrayValue?.first?["path"] == "params.code")

            let retired = try await a.call("service.update", ["id": id, "version": 1, "active": false, "description": "retired"])
            #expect(retired["result"]?["active"] == false && retired["result"]?["version"] == 2)
            #expect(try await a.call("service.list")["result"]?["items"]?.arrayValue?.count == 0)
            #expect(try await a.call("service.list", ["include_inactive": true, "q": "mit"])["result"]?["items"]?.arrayValue?.count == 1)
            #expect(try await a.call("service.delete", ["id": id, "version": 1]).errorReason == "stale_version")
            #expect(try await a.call("service.delete", ["id": id, "version": 2])["result"]?["deleted"] == true)
        }
    }

    @Test("an owner from another organisation is refused exactly like one that does not exist")
    func ownerReference() async throws {
        let server = try await ServerFixture.start("service-owner")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let b = try await server.session(server.orgB)
            let ownUser = try #require(try await a.call("session.whoami")["result"]?["user"]?["id"])
            let otherUser = try #require(try await b.call("session.whoami")["result"]?["user"]?["id"])
            let owned = try await a.call("service.create", ["code": "OWN", "name": "Owned", "owner_user_id": ownUser])
            #expect(owned["result"]?["owner_user_id"] == ownUser)
            var errors: [JSONValue] = []
            for candidate in [otherUser, .string(UUID().uuidString.lowercased())] {
                let reply = try await a.call("service.create", ["code": "X1", "name": "Foreign owner", "owner_user_id": candidate])
                #expect(reply.errorCode == -32602)
                errors.append(try #require(reply["error"]))
                let update = try await a.call(
                    "service.update", ["id": owned["result"]!["id"]!, "version": 1, "owner_user_id": candidate])
                #expect(update["error"]?["data"]?["fields"]?.arrayValue?.first?["path"] == "params.owner_user_id")
            }
            #expect(errors[0] == errors[1], "another organisation's user and a missing one get identical errors")
            let filtered = try await a.call("service.list", ["owner_user_id": ownUser])
            #expect(filtered["result"]?["items"]?.arrayValue?.compactMap { $0["code"]?.stringValue } == ["OWN"])
            let cleared = try await a.call("service.update", ["id": owned["result"]!["id"]!, "version": 1, "owner_user_id": nil])
            #expect(cleared["result"]?["owner_user_id"] == .null)
        }
    }

    @Test("services are isolated per organisation and written by managers only")
    func isolationAndRoles() async throws {
        let server = try await ServerFixture.start("service-iso")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let b = try await server.session(server.orgB)
            let service = try #require(try await a.call("service.create", ["code": "A1", "name": "A's"])["result"])
            let id = try #require(service["id"])
            #expect(try await b.call("service.get", ["id": id]).errorCode == -32003)
            #expect(try await b.call("service.update", ["id": id, "version": 1, "name": "mine"]).errorCode == -32003)
            #expect(try await b.call("service.delete", ["id": id, "version": 1]).errorCode == -32003)
            #expect(try await b.call("service.create", ["code": "A1", "name": "B's own A1"])["result"] != nil, "codes are per organisation")
            #expect(try await a.call("service.get", ["id": id])["result"] == service)

            let owner = try server.ownerConnection()
            defer { owner.close() }
            let admin = TenantAdministrator(owner: owner)
            _ = try admin.createUser(organisationID: server.orgA.id, email: "member@a.example", name: "Member", role: .member)
            let memberKey = try admin.issueKey(organisationID: server.orgA.id, userEmail: "member@a.example").key.text
            let member = try await server.connect()
            _ = try await member.call("session.authenticate", ["api_key": .string(memberKey)])
            #expect(try await member.call("service.get", ["id": id])["result"] != nil)
            #expect(try await member.call("service.create", ["code": "M1", "name": "Member's"]).errorCode == -32002)
            #expect(try await member.call("service.update", ["id": id, "version": 1, "name": "x"]).errorCode == -32002)
        }
    }
}

@Suite("Schema invariants")
struct SchemaInvariantTests {
    @Test("every unique and foreign key of a tenant table starts with organisation_id; client roles hold no TRUNCATE, REFERENCES or ownership")
    func tenantKeysAndPrivileges() async throws {
        let server = try await ServerFixture.start("invariants")
        try await server.scoped {
            let superuser = try server.superuserConnection()
            defer { superuser.close() }
            // Tables with an organisation_id column (and the organisations table itself, keyed by id).
            let uniques = try superuser.query(
                """
                SELECT i.indexrelid::regclass::text, a.attname
                FROM pg_index i
                JOIN pg_class c ON c.oid = i.indrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
                WHERE n.nspname = 'app' AND i.indisunique AND c.relname <> 'organisations'
                  AND EXISTS (SELECT FROM pg_attribute o WHERE o.attrelid = c.oid AND o.attname = 'organisation_id')
                """)
            #expect(uniques.rowCount >= 8)
            for row in 0..<uniques.rowCount {
                let index = uniques.string(row, 0) ?? ""
                // The documented exceptions: API keys are looked up before any tenant context exists, and role names
                // are unique in the whole PostgreSQL cluster.
                if ["app.api_keys_key_id_key", "app.reporting_roles_role_name_key"].contains(index) { continue }
                #expect(uniques.string(row, 1) == "organisation_id", "\(index) must lead with organisation_id")
            }
            let foreignKeys = try superuser.query(
                """
                SELECT con.conname, con.confrelid::regclass::text,
                       (SELECT attname FROM pg_attribute WHERE attrelid = con.conrelid AND attnum = con.conkey[1])
                FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
                WHERE n.nspname = 'app' AND con.contype = 'f'
                """)
            #expect(foreignKeys.rowCount >= 6)
            for row in 0..<foreignKeys.rowCount {
                #expect(foreignKeys.string(row, 2) == "organisation_id", "\(foreignKeys.string(row, 0) ?? "?") must lead with organisation_id")
            }
            let privileges = try superuser.query(
                """
                SELECT c.oid::regclass::text
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname IN ('app', 'meta') AND c.relkind IN ('r', 'p', 'v', 'm')
                  AND (has_table_privilege('engagement_app', c.oid, 'TRUNCATE')
                       OR has_table_privilege('engagement_app', c.oid, 'REFERENCES')
                       OR has_table_privilege('engagement_app', c.oid, 'TRIGGER')
                       OR pg_get_userbyid(c.relowner) = 'engagement_app')
                """)
            #expect(privileges.rowCount == 0, "\((0..<privileges.rowCount).compactMap { privileges.string($0, 0) })")
            let powers = try superuser.query(
                """
                SELECT count(*) FROM pg_roles r
                WHERE (r.rolname IN ('engagement_app', 'engagement_reporting') OR pg_has_role(r.oid, 'engagement_reporting', 'MEMBER'))
                  AND NOT r.rolsuper AND (r.rolbypassrls OR r.rolcreaterole OR r.rolcreatedb)
                """)
            #expect(powers.int(0, 0) == 0, "no client role bypasses RLS or creates roles or databases")
            let meta = try superuser.query("SELECT has_schema_privilege('engagement_app', 'meta', 'USAGE')")
            #expect(meta.bool(0, 0) == false, "the migrations table is not the server's business")
        }
    }

    @Test("the policy helper for new tenant tables enables and forces RLS with read and write policies")
    func policyHelper() async throws {
        let server = try await ServerFixture.start("policy-helper")
        try await server.scoped {
            let owner = try server.ownerConnection()
            defer { owner.close() }
            try owner.executeScript(
                """
                CREATE TABLE app.scratch (organisation_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(), PRIMARY KEY (organisation_id, id));
                CALL app.apply_tenant_policies('app.scratch', 'member');
                GRANT SELECT, INSERT ON app.scratch TO engagement_app;
                INSERT INTO app.scratch (organisation_id) VALUES ('\(server.orgA.id.uuidString.lowercased())'), ('\(server.orgB.id.uuidString.lowercased())');
                """)
            let table = try owner.query("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'app.scratch'::regclass")
            #expect(table.bool(0, 0) == true && table.bool(0, 1) == true)
            let policies = try owner.query("SELECT string_agg(policyname || ':' || cmd, ',' ORDER BY policyname) FROM pg_policies WHERE tablename = 'scratch'")
            #expect(policies.string(0, 0) == "member_write:ALL,tenant_read:SELECT")
            let app = try PostgresConnection.connect(try server.deployment.applicationURL)
            defer { app.close() }
            let keyID = try #require(APIKey(parsing: server.orgA.apiKey)).keyID
            let seen = try app.pipeline([Statement("SELECT app.begin_call($1, 'test')", [keyID]), Statement("SELECT count(*) FROM app.scratch")])
            #expect(seen[1].int(0, 0) == 1, "one row of each organisation; A sees its own")
            #expect(throws: PostgresError.self) { try owner.executeScript("CALL app.apply_tenant_policies('app.scratch', 'viewer')") }
        }
    }
}

import EngagementClient
import Foundation
import JSONRPC
import LocalPostgres
import TenantAdministration
import Testing

/// Bulk import through the write path (`party.import`), and `engagementctl export` → `import` between
/// organisations.
@Suite("Import and export")
struct ImportTests {
    func rows(_ values: [JSONObject]) -> JSONValue {
        .array(values.enumerated().map { .object(["row": .number(String($0.offset + 2)), "values": .object($0.element)]) })
    }

    @Test("a report per row: written, skipped by external_ref (also a duplicate within the file), failed with its column; dry run and atomic write nothing; re-runs skip; per organisation")
    func partyImport() async throws {
        let server = try await ServerFixture.start("import")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let batch = rows([
                ["name": "Acme", "kind": "customer", "external_ref": "C-1"],
                ["name": "", "kind": "customer", "external_ref": "C-2"],
                ["name": "Bolt", "kind": "alien", "external_ref": "C-3"],
                ["name": "Crane", "kind": "delivery_partner", "external_ref": "P-1"],
                ["name": "Dupe", "kind": "customer", "external_ref": "C-1"],
                ["name": "Extra", "kind": "customer", "colour": "red"],
            ])
            // Dry run: every row checked, nothing written.
            let dry = try #require(try await a.call("party.import", ["rows": batch, "dry_run": true])["result"])
            #expect(dry["rows"]?.arrayValue?.map { $0["status"]?.stringValue ?? "" } == ["valid", "failed", "failed", "valid", "skipped", "failed"])
            #expect(dry["written"]?.intValue == 0 && dry["dry_run"] == true)
            #expect(try await a.call("party.list", ["q": "C-1"])["result"]?["items"]?.arrayValue?.isEmpty == true)
            // Atomic with failures: nothing written either.
            let atomic = try #require(try await a.call("party.import", ["rows": batch, "atomic": true])["result"])
            #expect(atomic["rows"]?[0]?["status"] == "not_written" && atomic["written"]?.intValue == 0)
            // The real thing.
            let report = try #require(try await a.call("party.import", ["rows": batch])["result"])
            let byRow = report["rows"]?.arrayValue ?? []
            #expect(byRow.map { $0["row"]?.intValue ?? 0 } == [2, 3, 4, 5, 6, 7], "in the order sent")
            #expect(byRow.map { $0["status"]?.stringValue ?? "" } == ["written", "failed", "failed", "written", "skipped", "failed"])
            #expect(byRow[1]["field"] == "name" && byRow[2]["field"] == "kind" && byRow[5]["field"] == "colour")
            #expect(byRow[1]["message"]?.stringValue?.isEmpty == false && byRow[1]["reason"] == "invalid")
            #expect(byRow[4]["id"] == byRow[0]["id"], "a duplicate within the file is skipped as its twin")
            #expect(report["written"]?.intValue == 2 && report["failed"]?.intValue == 3 && report["skipped"]?.intValue == 1)
            // Re-run: what was written is skipped, with its id.
            let again = try #require(try await a.call("party.import", ["rows": batch])["result"])
            #expect(again["skipped"]?.intValue == 3 && again["written"]?.intValue == 0)
            #expect(again["rows"]?[0]?["id"] == byRow[0]["id"])
            // Another organisation's external references are not its own: it writes them.
            let b = try await server.session(server.orgB)
            let other = try #require(try await b.call("party.import", ["rows": rows([["name": "Acme", "kind": "customer", "external_ref": "C-1"]])])["result"])
            #expect(other["written"]?.intValue == 1 && other["rows"]?[0]?["id"] != byRow[0]["id"])
            // Writing needs what a single create needs.
            let owner = try server.ownerConnection()
            defer { owner.close() }
            let admin = TenantAdministrator(owner: owner)
            _ = try admin.createUser(organisationID: server.orgA.id, email: "member@a.example", name: "member", role: .member)
            let memberKey = try admin.issueKey(organisationID: server.orgA.id, userEmail: "member@a.example").key.text
            let member = try await server.connect()
            _ = try #require(try await member.call("session.authenticate", ["api_key": .string(memberKey)])["result"])
            #expect(try await member.call("party.import", ["rows": batch]).errorCode == -32002)
            // Over the row limit.
            let tooMany = rows(Array(repeating: ["name": "X", "kind": "customer"], count: 1001))
            #expect(try await a.call("party.import", ["rows": tooMany]).errorCode == -32602)
        }
    }

    @Test("engagementctl export from one organisation, import into another: the same parties; a re-run skips them all")
    func roundTrip() async throws {
        let server = try await ServerFixture.start("import-roundtrip")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            for (name, ref) in [("Acme, Inc.", "R-1"), ("Say \"hi\" Ltd", "R-2"), ("Zoë ☃", "R-3")] {
                _ = try #require(try await a.call("party.create", ["name": .string(name), "kind": "customer", "external_ref": .string(ref)])["result"])
            }
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("parties-\(randomToken(bytes: 4)).csv")
            defer { try? FileManager.default.removeItem(at: file) }
            let exported = try await engagementctl(server, \.orgA, ["export", "parties", "--output", file.path])
            #expect(exported.0 == 0, "\(exported.1.suffix(1500))")
            let text = try String(contentsOf: file, encoding: .utf8)
            #expect(text.hasPrefix("name,kind,external_ref\n") && text.contains("\"Acme, Inc.\",customer,R-1"))
            #expect(!text.contains("Organisation A"), "the organisation's own party is not exported")
            let imported = try await engagementctl(server, \.orgB, ["import", "parties", file.path])
            #expect(imported.0 == 0 && imported.1.contains("3 rows: 3 written, 0 skipped (already there), 0 failed"), "\(imported.1)")
            let b = try await server.session(server.orgB)
            let names = try #require(try await b.call("party.list", ["kind": "customer"])["result"]?["items"]?.arrayValue).compactMap { $0["name"]?.stringValue }
            #expect(Set(names) == ["Acme, Inc.", "Say \"hi\" Ltd", "Zoë ☃"])
            let rerun = try await engagementctl(server, \.orgB, ["import", "parties", file.path])
            #expect(rerun.0 == 0 && rerun.1.contains("0 written, 3 skipped"), "\(rerun.1)")
            // A file with an unknown column is refused before anything is sent.
            try Data("name,kind,colour\nX,customer,red\n".utf8).write(to: file)
            let refused = try await engagementctl(server, \.orgB, ["import", "parties", file.path])
            #expect(refused.0 != 0 && refused.1.contains("unknown column(s) colour"), "\(refused.1)")
        }
    }
}

extension ImportTests {
    @Test("services by code, then engagements naming service, customer, contract and parent by code or reference, through engagementctl; a bad reference fails its row at its column; KPIs; all four exported and imported into another organisation")
    func servicesAndEngagements() async throws {
        let server = try await ServerFixture.start("import-engagements")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            _ = try #require(try await a.call("party.create", ["name": "Acme", "kind": "customer", "external_ref": "ACME"])["result"])
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("import-\(randomToken(bytes: 4))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let services = directory.appendingPathComponent("services.csv")
            try Data("code,name,description,active\r\nMITS,Managed IT Support,\"Desk, network and devices\",true\r\nSEC,Security,,maybe\r\n".utf8).write(to: services)
            let servicesRun = try await engagementctl(server, \.orgA, ["import", "services", services.path])
            #expect(servicesRun.0 == 1, "one row failed: \(servicesRun.1)")
            #expect(servicesRun.1.contains("line 3: column active: \"maybe\" is not a valid boolean"), "\(servicesRun.1)")
            #expect(servicesRun.1.contains("2 rows: 1 written"), "\(servicesRun.1)")

            let engagements = directory.appendingPathComponent("engagements.csv")
            try Data("""
                code,name,service_code,customer_ref,parent_code,start_date,end_date
                ACME-ALL,Acme account,mits,ACME,,2025-01-01,2025-12-31
                ACME-FY25,Managed IT Support FY2025,MITS,ACME,ACME-ALL,2025-01-01,2025-12-31
                ACME-X,Unknown service,NOPE,ACME,,,
                ACME-Y,Unknown customer,MITS,NOBODY,,,
                ACME-Z,Orphan,MITS,ACME,MISSING,,

                """.utf8).write(to: engagements)
            let dry = try await engagementctl(server, \.orgA, ["import", "engagements", engagements.path, "--dry-run"])
            #expect(dry.1.contains("5 rows: 2 would write"), "\(dry.1)")
            #expect(try await a.call("engagement.list")["result"]?["items"]?.arrayValue?.isEmpty == true, "a dry run writes nothing")
            let run = try await engagementctl(server, \.orgA, ["import", "engagements", engagements.path])
            #expect(run.0 == 1)
            for expected in ["line 4: column service_code: no service has this code", "line 5: column customer_ref: no party has this external_ref",
                             "line 6: column parent_code: no engagement has this code"] {
                #expect(run.1.contains(expected), "\(expected) in \(run.1)")
            }
            #expect(run.1.contains("5 rows: 2 written, 0 skipped (already there), 3 failed"), "\(run.1)")
            let items = try #require(try await a.call("engagement.list")["result"]?["items"]?.arrayValue)
            let parent = try #require(items.first { $0["code"] == "ACME-ALL" })
            let child = try #require(items.first { $0["code"] == "ACME-FY25" })
            #expect(child["parent_id"] == parent["id"] && child["status"] == "draft")
            // Again: the two are skipped, the three still fail.
            let rerun = try await engagementctl(server, \.orgA, ["import", "engagements", engagements.path])
            #expect(rerun.1.contains("0 written, 2 skipped (already there), 3 failed"), "\(rerun.1)")

            // KPIs of the engagements, by code; a target that is no number is refused by engagementctl, per row.
            let kpis = directory.appendingPathComponent("kpis.csv")
            try Data("engagement_code,name,unit,target,direction\nacme-fy25,Availability,%,99.9,\nACME-NONE,Uptime,%,99,\nACME-FY25,Tickets,count,abc,lower_is_better\n".utf8)
                .write(to: kpis)
            let kpiRun = try await engagementctl(server, \.orgA, ["import", "kpis", kpis.path])
            #expect(kpiRun.1.contains("line 3: column engagement_code: no engagement has this code"), "\(kpiRun.1)")
            #expect(kpiRun.1.contains("line 4: column target: \"abc\" is not a valid number"), "\(kpiRun.1)")
            #expect(kpiRun.1.contains("3 rows: 1 written"), "\(kpiRun.1)")
            let defined = try #require(try await a.call("kpi.list", ["engagement_id": child["id"]!])["result"]?.arrayValue)
            #expect(defined.map { $0["name"]?.stringValue ?? "" } == ["Availability"] && defined.first?["target"] == .number("99.9"), "\(defined)")

            // Parties, services, engagements and KPIs exported from A and imported into B, in that order: B has the same
            // hierarchy, its rows naming B's own service and customer.
            for kind in ["parties", "services", "engagements", "kpis"] {
                let file = directory.appendingPathComponent("export-\(kind).csv").path
                let exported = try await engagementctl(server, \.orgA, ["export", kind, "--output", file])
                #expect(exported.0 == 0, "\(exported.1)")
                let imported = try await engagementctl(server, \.orgB, ["import", kind, file])
                #expect(imported.0 == 0, "\(kind): \(imported.1)")
            }
            let exportedText = try String(contentsOf: directory.appendingPathComponent("export-engagements.csv"), encoding: .utf8)
            #expect(exportedText.hasPrefix("code,name,service_code,customer_ref,contract_reference,parent_code,template,status,start_date,end_date\n"))
            #expect(exportedText.range(of: "ACME-ALL")!.lowerBound < exportedText.range(of: "ACME-FY25")!.lowerBound, "parents first")
            let b = try await server.session(server.orgB)
            let bItems = try #require(try await b.call("engagement.list")["result"]?["items"]?.arrayValue)
            let bParent = try #require(bItems.first { $0["code"] == "ACME-ALL" })
            let bChild = try #require(bItems.first { $0["code"] == "ACME-FY25" })
            #expect(bChild["parent_id"] == bParent["id"] && bChild["id"] != child["id"])
            #expect(bChild["start_date"] == "2025-01-01" && bChild["end_date"] == "2025-12-31")
            let bKPIs = try #require(try await b.call("kpi.list", ["engagement_id": bChild["id"]!])["result"]?.arrayValue)
            #expect(bKPIs.map { $0["name"]?.stringValue ?? "" } == ["Availability"] && bKPIs.first?["target"] == .number("99.9"), "\(bKPIs)")
        }
    }
}

/// Runs the built engagementctl against the fixture's server as one of its organisations.
func engagementctl(_ server: ServerFixture, _ organisation: KeyPath<ServerFixture, ServerFixture.Organisation>, _ arguments: [String])
    async throws -> (Int32, String)
{
    let base = try await TestCluster.shared.base()
    return try await runTool(".build/debug/engagementctl", arguments + [
        "--host", "127.0.0.1", "--port", String(server.port), "--ca-file", base.certificates.caFile.path,
        "--api-key", server[keyPath: organisation].apiKey,
    ])
}

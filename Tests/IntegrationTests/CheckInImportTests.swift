import EngagementClient
import Foundation
import JSONRPC
import LocalPostgres
import Testing

/// A year of a delivery team's spreadsheets through `engagementctl import`: templates, contracts with rates and
/// SLA terms, engagements walked to active, and monthly check-ins as one row per line; then every kind exported
/// from one organisation and imported into another, which exports the same files.
@Suite("Import: contracts, engagements with a status, a year of check-ins")
struct CheckInImportTests {
    static let kindsInOrder = ["parties", "services", "templates", "contracts", "contract-rates", "sla-terms", "engagements", "kpis", "checkins"]

    static let files: [String: String] = [
        "parties": "name,kind,external_ref\nAcme,customer,ACME\nBolt,customer,BOLT\n",
        "services": "code,name\nMITS,Managed IT Support\nSEC,Security Operations\n",
        "templates": #"""
            service_code,name,default_kpis,checkin_cadence
            MITS,Standard,"[{""name"":""Availability"",""unit"":""%"",""target"":99.5,""direction"":""higher_is_better""}]",monthly
            SEC,Standard,,monthly
            SEC,Broken,"[{""name"":""""}]",monthly

            """#,
        "contracts": #"""
            reference,customer_ref,title,contract_type,total_value,currency,start_date,end_date,status
            ACME-2025,ACME,Acme managed services,fixed_fee,120000,EUR,2025-01-01,2025-12-31,active
            NOBODY-1,NOBODY,Nobody's,fixed_fee,1,EUR,2025-01-01,,draft

            """#,
        "contract-rates": "contract_reference,rate_key,rate_per_hour\nACME-2025,Engineer,95.50\nACME-2025,Architect,140\nMISSING,Engineer,1\n",
        "sla-terms": #"""
            contract_reference,metric,target,comparison,measurement_period,penalty,exclusions
            ACME-2025,availability,99.5,>=,monthly,"{""tiers"":[{""threshold"":99,""credit_percent"":5}]}",planned maintenance
            ACME-2025,response_time,4,<=,weekly,,

            """#,
        "engagements": #"""
            code,name,service_code,customer_ref,contract_reference,template,status,start_date,end_date
            ACME-MITS,Managed IT Support for Acme FY2025,MITS,ACME,ACME-2025,Standard,active,2025-01-01,2025-12-31
            BOLT-SEC,Security Operations for Bolt,SEC,BOLT,,Standard,active,2025-01-01,2025-12-31
            BOLT-NEW,No template,SEC,BOLT,,,active,,

            """#,
    ]

    /// Twelve months of Acme's check-ins (two finance lines, a KPI value and a capacity entry each, notes on
    /// January), three of Bolt's of which March has a line without a currency (Bolt has no contract), and two
    /// rows that are wrong on their own.
    static var checkIns: String {
        var lines = ["engagement_code,period,section,category,label,plan,actual,currency,kpi,role,person,planned_hours,actual_hours,notes"]
        for month in 1...12 {
            let period = String(format: "2025-%02d", month)
            lines += [
                "ACME-MITS,\(period),finance,revenue,Monthly fee,10000,\(9000 + month * 100),,,,,,,\(month == 1 ? "\"Kick-off, on plan\"" : "")",
                "ACME-MITS,\(period),finance,labour_cost,,6000,6100.50,EUR,,,,,,",
                "ACME-MITS,\(period),kpi,,,,99.\(month % 10),,Availability,,,,,",
                "ACME-MITS,\(period),capacity,,,,,,,Engineer,Dana,160,\(140 + month),",
            ]
        }
        for month in 1...3 {
            let period = String(format: "2025-%02d", month)
            lines += [
                "BOLT-SEC,\(period),finance,revenue,,5000,5000,\(month == 3 ? "" : "USD"),,,,,,",
                "BOLT-SEC,\(period),notes,,,,,,,,,,,Quiet month",
            ]
        }
        lines += [
            "ACME-NONE,2025-01,finance,revenue,,1,1,EUR,,,,,,",
            "BOLT-SEC,2025-04,kpi,,,,1,,Availability,Engineer,,,,",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    @Test("templates, contracts, rates and SLA terms, engagements walked to active, a year of check-ins: a report per row, a check-in's rows sink together, re-runs skip; exported from A and imported into B, B exports the same files")
    func yearOfCheckIns() async throws {
        let server = try await ServerFixture.start("import-checkins")
        try await server.scoped {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("import-\(randomToken(bytes: 4))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            func file(_ kind: String, _ text: String) throws -> String {
                let url = directory.appendingPathComponent("\(kind).csv")
                try Data(text.utf8).write(to: url)
                return url.path
            }
            var outputs: [String: (Int32, String)] = [:]
            for kind in Self.kindsInOrder {
                outputs[kind] = try await engagementctl(server, \.orgA, ["import", kind, try file(kind, kind == "checkins" ? Self.checkIns : Self.files[kind] ?? "")])
            }
            #expect(outputs["parties"]?.0 == 0 && outputs["services"]?.0 == 0, "\(outputs)")
            for (kind, expected) in [
                ("templates", "line 4: column default_kpis[0].name: "), ("contracts", "line 3: column customer_ref: no party has this external_ref"),
                ("contract-rates", "line 4: column contract_reference: no contract has this reference"),
                ("sla-terms", "line 3: column measurement_period: "), ("engagements", "line 4: column status: an active engagement needs a template"),
                ("checkins", "line 56: column engagement_code: no engagement has this code"),
                ("checkins", "line 54: column currency: is required when the engagement has no contract"),
                ("checkins", "line 55: the check-in of BOLT-SEC for 2025-03 not written: row 54 failed"),
                ("checkins", "line 57: column role: is not a column of a kpi row"),
                ("checkins", "56 rows: 52 written, 0 skipped (already there), 4 failed"),
            ] {
                #expect(outputs[kind]?.1.contains(expected) == true, "\(kind): \(expected) in \(outputs[kind]?.1 ?? "")")
            }

            let a = try await server.session(server.orgA)
            let engagements = try #require(try await a.call("engagement.list")["result"]?["items"]?.arrayValue)
            let acme = try #require(engagements.first { $0["code"] == "ACME-MITS" })
            #expect(acme["status"] == "active" && acme["contract_id"] != .null && acme["template_id"] != .null)
            let contract = try #require(try await a.call("contract.get", ["id": acme["contract_id"]!])["result"])
            #expect(contract["rates"]?.arrayValue?.count == 2 && contract["sla_terms"]?[0]?["penalty"]?["tiers"]?[0]?["credit_percent"] == .number("5"))
            let transitions = try #require(try await a.call("engagement.transitions", ["id": acme["id"]!])["result"]?.arrayValue)
            #expect(transitions.last?["to"] == "active" && transitions.last?["reason"] == "imported", "\(transitions)")
            let year = try #require(try await a.call("checkin.list", ["engagement_id": acme["id"]!, "limit": 50])["result"]?["items"]?.arrayValue)
            #expect(year.count == 12)
            let january = try #require(year.first)
            #expect(january["period"] == "2025-01" && january["notes"] == "Kick-off, on plan")
            #expect(january["finance"]?.arrayValue?.map { $0["actual"] } == [.number("9100.00"), .number("6100.50")], "\(january)")
            #expect(january["finance"]?[0]?["currency"] == "EUR", "the contract's currency by default")
            #expect(january["kpis"]?[0]?["actual"] == .number("99.1") && january["capacity"]?[0]?["actual_hours"] == .number("141.00"))
            let bolt = try #require(engagements.first { $0["code"] == "BOLT-SEC" })
            let boltMonths = try #require(try await a.call("checkin.list", ["engagement_id": bolt["id"]!])["result"]?["items"]?.arrayValue)
            #expect(boltMonths.map { $0["period"] } == ["2025-01", "2025-02"], "March sank with its line")

            // Re-run: what was written is skipped, what failed fails again.
            let rerun = try await engagementctl(server, \.orgA, ["import", "checkins", directory.appendingPathComponent("checkins.csv").path])
            #expect(rerun.1.contains("56 rows: 0 written, 52 skipped (already there), 4 failed"), "\(rerun.1)")

            // Every kind from A into B; B's exports are A's (by code and reference; uuids differ).
            func exported(_ organisation: KeyPath<ServerFixture, ServerFixture.Organisation>, _ kind: String) async throws -> String {
                let path = directory.appendingPathComponent("export-\(kind)-\(organisation == \.orgA ? "a" : "b").csv").path
                let run = try await engagementctl(server, organisation, ["export", kind, "--output", path])
                #expect(run.0 == 0, "\(kind): \(run.1)")
                return try String(contentsOfFile: path, encoding: .utf8)
            }
            for kind in Self.kindsInOrder {
                let fromA = try await exported(\.orgA, kind)
                let path = directory.appendingPathComponent("export-\(kind)-a.csv").path
                let imported = try await engagementctl(server, \.orgB, ["import", kind, path])
                #expect(imported.0 == 0, "\(kind): \(imported.1)")
                let fromB = try await exported(\.orgB, kind)
                #expect(fromA.split(separator: "\n").sorted() == fromB.split(separator: "\n").sorted(), "\(kind):\n\(fromA)\n---\n\(fromB)")
                #expect(fromA.split(separator: "\n").count > 1, "\(kind) exported rows")
            }
        }
    }
}

extension CheckInImportTests {
    @Test("--atomic beyond one call: staged on the server, written in one transaction or not at all; a check-in split across batches is whole; stages are their user's")
    func atomicStaged() async throws {
        let server = try await ServerFixture.start("import-staged")
        try await server.scoped {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("import-\(randomToken(bytes: 4))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            for kind in ["parties", "services", "templates", "contracts", "engagements"] {
                let file = directory.appendingPathComponent("\(kind).csv")
                try Data((Self.files[kind] ?? "").utf8).write(to: file)
                _ = try await engagementctl(server, \.orgA, ["import", kind, file.path])
            }
            // 1,080 capacity rows of one engagement (90 people a month): three calls' worth, one of them bad.
            var lines = ["engagement_code,period,section,role,person,planned_hours,actual_hours"]
            for month in 1...12 {
                for person in 1...90 { lines.append("ACME-MITS,2025-\(month < 10 ? "0" : "")\(month),capacity,Engineer,P\(person),10,\(person % 12)") }
            }
            let bad = lines.count
            lines.append("ACME-MITS,2025-06,capacity,Engineer,P91,10,-4")
            let file = directory.appendingPathComponent("checkins.csv")
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
            let refused = try await engagementctl(server, \.orgA, ["import", "checkins", file.path, "--atomic"])
            #expect(refused.0 == 1 && refused.1.contains("line \(bad + 1): column actual_hours:"), "\(refused.1.suffix(600))")
            #expect(refused.1.contains("1081 rows: 0 written, 0 skipped (already there), 91 failed"), "June's 91 rows sink together: \(refused.1.suffix(300))")
            let a = try await server.session(server.orgA)
            let acme = try #require(try await a.call("engagement.list", ["q": "ACME-MITS"])["result"]?["items"]?[0]?["id"])
            #expect(try await a.call("checkin.list", ["engagement_id": acme])["result"]?["items"]?.arrayValue?.isEmpty == true, "nothing written")

            lines.removeLast()
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
            let written = try await engagementctl(server, \.orgA, ["import", "checkins", file.path, "--atomic"])
            #expect(written.0 == 0 && written.1.contains("1080 rows: 1080 written"), "\(written.1.suffix(300))")
            let months = try #require(try await a.call("checkin.list", ["engagement_id": acme, "limit": 50])["result"]?["items"]?.arrayValue)
            #expect(months.count == 12 && months.allSatisfy { $0["capacity"]?.arrayValue?.count == 90 }, "each month whole across the batches")
            // An error of the write path names the spreadsheet's column: a party that does not deliver the engagement.
            let notDelivering = directory.appendingPathComponent("not-delivering.csv")
            try Data("engagement_code,period,section,category,plan,currency,deliverer_ref\nBOLT-SEC,2025-01,finance,revenue,10,EUR,BOLT\n".utf8).write(to: notDelivering)
            let renamed = try await engagementctl(server, \.orgA, ["import", "checkins", notDelivering.path])
            #expect(renamed.1.contains("line 2: column deliverer_ref: is not a delivery party of this engagement"), "\(renamed.1)")

            // A stage is its user's: B committing with A's import_id writes only its own rows; A's stay staged.
            let importID = JSONValue.string(UUID().uuidString.lowercased())
            func row(_ number: Int, _ ref: String) -> JSONValue {
                ["row": .number(String(number)), "values": ["name": .string(ref), "kind": "customer", "external_ref": .string(ref)]]
            }
            let staged = try #require(try await a.call("party.import", ["rows": [row(2, "S-1"), row(3, "S-2")], "import_id": importID])["result"])
            #expect(staged["staged"] == .number("2") && staged["import_id"] == importID)
            #expect(try await a.call("party.list", ["q": "S-1"])["result"]?["items"]?.arrayValue?.isEmpty == true, "staged, not written")
            #expect(try await a.call("service.import", ["rows": [], "import_id": importID]).errorCode == -32602, "one kind per import")
            let b = try await server.session(server.orgB)
            let other = try #require(try await b.call("party.import", ["rows": [row(2, "B-1")], "import_id": importID, "commit": true])["result"])
            #expect(other["written"] == .number("1") && other["failed"] == .number("0"))
            let committed = try #require(try await a.call("party.import", ["rows": [row(4, "S-3")], "import_id": importID, "commit": true])["result"])
            #expect(committed["written"] == .number("3") && committed["rows"] == [], "\(committed)")
            #expect(try await a.call("party.list", ["q": "S-"])["result"]?["items"]?.arrayValue?.count == 3)
        }
    }
}

extension CheckInImportTests {
    @Test("a newcomer's spreadsheets: Benchmarks/import/generate.py's export of 100 engagements with a year of check-ins (14,400 lines), three rows spoilt: the rest is written, the three are reported with their column and reason")
    func realisticExport() async throws {
        let server = try await ServerFixture.start("import-realistic")
        try await server.scoped {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("import-\(randomToken(bytes: 4))")
            defer { try? FileManager.default.removeItem(at: directory) }
            let generator = PythonTool.directory.deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Benchmarks/import/generate.py").path
            let generated = try await PythonTool.python([generator, directory.path, "100"])
            #expect(generated.0 == 0 && generated.1.hasPrefix("14400"), "\(generated.1)")
            // Spoil three lines of the check-ins: a currency that is not the engagement's, a KPI it does not have, a
            // month outside its dates.
            let file = directory.appendingPathComponent("checkins.csv")
            var lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            lines[2] = lines[2].replacingOccurrences(of: ",EUR,", with: ",EURO,")
            lines[103] = lines[103].replacingOccurrences(of: "Availability", with: "Uptime")  // 12 lines a month, the 7th a KPI
            lines[5000] = lines[5000].replacingOccurrences(of: ",2025-", with: ",2031-")
            try Data(lines.joined(separator: "\n").utf8).write(to: file)
            for kind in ["parties", "services", "templates", "engagements"] {
                let run = try await engagementctl(server, \.orgA, ["import", kind, directory.appendingPathComponent("\(kind).csv").path])
                #expect(run.0 == 0, "\(kind): \(run.1.suffix(500))")
            }
            let run = try await engagementctl(server, \.orgA, ["import", "checkins", file.path])
            #expect(run.0 == 1)
            for expected in ["line 3: column currency: ", "line 104: column kpi: is not a KPI of this engagement", "line 5001: column period: "] {
                #expect(run.1.contains(expected), "\(expected) in \(run.1.prefix(1500))")
            }
            // Two check-ins sink with their 12 lines each; the line moved to 2031 makes a check-in of its own, which fails
            // alone (its month keeps its other 11 lines).
            #expect(run.1.contains("14400 rows: 14375 written, 0 skipped (already there), 25 failed"), "\(run.1.suffix(300))")
            let a = try await server.session(server.orgA)
            let first = try #require(try await a.call("engagement.list", ["q": "E-00000"])["result"]?["items"]?[0]?["id"])
            let months = try #require(try await a.call("checkin.list", ["engagement_id": first, "limit": 50])["result"]?["items"]?.arrayValue)
            #expect(months.map { $0["period"]?.stringValue ?? "" } == (2...12).filter { $0 != 9 }.map { "2025-\($0 < 10 ? "0" : "")\($0)" },
                    "January and September sank")
        }
    }
}

import ArgumentParser
import DevEnvironment
import Foundation
import JSONRPC
import PostgresClient
import TenantAdministration

#if canImport(Glibc)
import Glibc
#endif

/// `engagementctl seed`: realistic data at scale, through the write path, deterministic for a seed.
struct Seed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fill the database with generated organisations, engagement trees, check-ins, KPIs and risks (for benchmarks).")

    @OptionGroup var database: OwnerDatabaseOptions

    @Option(help: "organisations to create")
    var orgs = 10
    @Option(help: "engagements per organisation")
    var engagementsPerOrg = 100
    @Option(help: "depth of each account's engagement tree (branching 3)")
    var depth = 3
    @Option(help: "months of check-ins per active engagement, up to the last month")
    var months = 6
    @Option(help: "the same seed gives the same data")
    var seed = 1
    @Option(help: "write the organisations' API keys here, in the connection-file format the load generator reads")
    var keysFile = "seed-keys.json"

    func validate() throws {
        guard (1...10_000).contains(orgs), (1...1_000_000).contains(engagementsPerOrg), (1...8).contains(depth),
            (0...120).contains(months)
        else { throw ValidationError("orgs 1–10000, engagements-per-org 1–1000000, depth 1–8, months 0–120") }
    }

    func run() throws {
        let connection = try database.connect()
        defer { connection.close() }
        let administrator = TenantAdministrator(owner: connection)
        let progress = Progress(total: orgs)
        var keys: [JSONValue] = []
        for index in 1...orgs {
            let (organisationID, rows) = try SeedData.seedOrganisation(
                owner: connection, seed: seed, index: index, engagements: engagementsPerOrg, depth: depth, months: months)
            let name = "Seed \(seed) organisation \(index)"
            let issued = try administrator.issueKey(organisationID: organisationID, label: "seed")
            keys.append(["id": .string(organisationID.uuidString.lowercased()), "name": .string(name), "api_key": .string(issued.key.text)])
            progress.step(rows: rows)
        }
        progress.finish()
        try writeKeys(keys)
    }

    /// The keys, with host, port and CA of the dev connection file when there is one.
    func writeKeys(_ organisations: [JSONValue]) throws {
        var document: JSONObject = ["organisations": .array(organisations)]
        if let file = try? ConnectionFile.load(database.connectionFile) {
            document["host"] = .string(file.host)
            document["port"] = .number(String(file.port))
            document["ca_file"] = .string(file.caFile)
        }
        try Data(JSONWriter.encode(.object(document))).write(to: URL(fileURLWithPath: keysFile))
        FileHandle.standardError.write(Data("API keys of the seeded organisations: \(keysFile) (secrets: keep it private)\n".utf8))
    }
}

/// Progress on standard error: a bar redrawn in place on a terminal, plain lines otherwise; rows/s and ETA.
final class Progress {
    let total: Int
    let started = ContinuousClock.now
    let terminal = isatty(STDERR_FILENO) == 1
    var done = 0
    var rows = 0

    init(total: Int) { self.total = total }

    func step(rows added: Int) {
        done += 1
        rows += added
        let elapsed = (ContinuousClock.now - started).seconds
        let rate = Double(rows) / max(elapsed, 0.001)
        let eta = elapsed / Double(done) * Double(total - done)
        let width = 30
        let filled = width * done / total
        let line = String(
            format: "%@ %d/%d organisations, %d rows, %.0f rows/s, ETA %.0f s",
            terminal ? "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]" : "seed:",
            done, total, rows, rate, eta)
        FileHandle.standardError.write(Data((terminal ? "\r" + line : line + "\n").utf8))
    }

    func finish() {
        let elapsed = (ContinuousClock.now - started).seconds
        FileHandle.standardError.write(Data(((terminal ? "\n" : "") + String(
            format: "seeded %d organisations, %d rows in %.1f s (%.0f rows/s)\n", total, rows, elapsed, Double(rows) / max(elapsed, 0.001))).utf8))
    }
}

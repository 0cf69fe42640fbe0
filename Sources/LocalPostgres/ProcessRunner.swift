import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs external programs (initdb, pg_ctl, useradd), as another OS user when asked.
struct ProcessRunner: Sendable {
    /// When set, commands run as this user through `runuser` (we are root and PostgreSQL refuses root).
    let runAsUser: String?

    struct Failure: Error, CustomStringConvertible {
        let command: String
        let status: Int32
        let output: String
        var description: String { "\(command) exited with status \(status): \(output)" }
    }

    @discardableResult
    func run(_ executable: String, _ arguments: [String], asOwner: Bool = true) throws -> String {
        let process = Process()
        if asOwner, let user = runAsUser {
            process.executableURL = URL(fileURLWithPath: Self.which("runuser") ?? "/usr/sbin/runuser")
            process.arguments = ["-u", user, "--", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        // Output goes to a temporary file, not a pipe: `pg_ctl start` leaves a postmaster running that
        // inherits the descriptor, and a pipe would then never reach end-of-file.
        let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("engagement-\(UUID().uuidString).out")
        guard FileManager.default.createFile(atPath: outputFile.path, contents: nil) else {
            throw Failure(command: executable, status: -1, output: "cannot create \(outputFile.path)")
        }
        defer { try? FileManager.default.removeItem(at: outputFile) }
        let output = try FileHandle(forWritingTo: outputFile)
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try? output.close()
        let text = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            throw Failure(
                command: ([executable] + arguments).joined(separator: " "), status: process.terminationStatus,
                output: text)
        }
        return text
    }

    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
        return directories.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static var isRoot: Bool { geteuid() == 0 }
}

import Foundation
import JSONRPC

/// Runs the Python helpers of `Tests/Support` (a reference parser where one exists: prometheus_client's for the
/// metrics exposition, PyYAML's for compose files) and reads the JSON they print. A missing module is installed
/// with pip, never skipped.
enum PythonTool {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Support")

    /// Runs `Tests/Support/<script>` with `arguments`; its standard output is one JSON document.
    static func json(_ script: String, _ arguments: [String]) async throws -> JSONValue {
        let (status, output) = try await python([directory.appendingPathComponent(script).path] + arguments)
        guard status == 0 else { throw Failure(output: "\(script) failed: \(output)") }
        return try JSONParser.parse(Array(output.utf8))
    }

    /// Installs `package` with pip when `module` cannot be imported.
    static func ensure(module: String, package: String) async throws {
        if try await python(["-c", "import \(module)"]).0 == 0 { return }
        let (status, output) = try await python(["-m", "pip", "install", "--quiet", package])
        guard status == 0 else { throw Failure(output: "pip install \(package) failed: \(output)") }
    }

    /// Runs python3 (off the cooperative pool: `runTool`).
    static func python(_ arguments: [String], environment: [String: String] = [:]) async throws -> (Int32, String) {
        try await runTool("/usr/bin/env", ["python3"] + arguments, environment: environment)
    }

    struct Failure: Error, CustomStringConvertible {
        let output: String
        var description: String { output }
    }
}

/// Runs a program and returns its exit status and output (standard output and error), waiting on a thread of its
/// own: the program may talk to a server in this process, whose work needs the cooperative pool (two threads on two
/// cores) that a blocking wait would hold.
func runTool(_ path: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> (Int32, String) {
    try await onOwnThread {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        // Output to a file, not a pipe (as ProcessRunner does): a PostgreSQL that another test starts meanwhile
        // inherits every open descriptor, so a pipe's write end could outlive the tool and end-of-file never come.
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("engagement-tool-\(UUID().uuidString).out")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try? handle.close()
        return (process.terminationStatus, String(decoding: (try? Data(contentsOf: output)) ?? Data(), as: UTF8.self))
    }
}

/// Runs blocking work (a child process, a socket read) on a thread of its own and awaits its outcome: tests share
/// the cooperative pool (two threads on two cores) with the servers they talk to, so blocking it could starve them.
func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
    }
}

import EngagementClient
import Foundation
import JSONRPC
import DevEnvironment
import LocalPostgres

/// A real `engagementd serve` process (the built binary, as an operator runs it) against a test deployment, on a
/// free port, configured only by its environment; its output goes to `log`.
struct ServerProcess {
    let process: Process
    let port: Int
    let log: URL
    let caFile: String

    /// Starts it with `settings` on top of the minimum (port, TLS files, the deployment's app URL, no metrics port,
    /// warnings only); every other `ENGAGEMENT_*` variable of the test's environment is dropped.
    static func start(
        _ deployment: LocalDeployment, base: TestCluster.Base, directory: URL, settings: [String: String] = [:]
    ) throws -> ServerProcess {
        let port = try freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ".build/debug/engagementd")
        process.arguments = ["serve"]
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ENGAGEMENT_") }.merging([
            "ENGAGEMENT_PORT": String(port), "ENGAGEMENT_METRICS_PORT": "off", "ENGAGEMENT_LOG_LEVEL": "warning",
            "ENGAGEMENT_TLS_CERT": base.certificates.server.certificate.path, "ENGAGEMENT_TLS_KEY": base.certificates.server.privateKey.path,
            "ENGAGEMENT_DATABASE_URL": try deployment.applicationURL, "ENGAGEMENT_SQL_DIR": "SQL",
        ].merging(settings) { $1 }) { $1 }
        let log = directory.appendingPathComponent("engagementd.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = try FileHandle(forWritingTo: log)
        process.standardOutput = output
        process.standardError = output
        try process.run()
        registerCleanup { if process.isRunning { process.terminate() } }
        return ServerProcess(process: process, port: port, log: log, caFile: base.certificates.caFile.path)
    }

    /// What it has written so far.
    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// An authenticated connection; the first is retried for up to 10 s while the process starts.
    func session(_ apiKey: String, waitingForStart: Bool = false) async throws -> RPCConnection {
        for _ in 0..<(waitingForStart ? 40 : 1) {
            if let connection = try? await RPCConnection.connect(host: "127.0.0.1", port: port, tls: ClientTLS(caFile: caFile)) {
                let reply = try await connection.call("session.authenticate", ["api_key": .string(apiKey)])
                guard reply["result"] != nil else { throw ServerProcessFailure(output: "authentication refused: \(reply)") }
                return connection
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw ServerProcessFailure(output: "engagementd did not start: \(output.suffix(1500))")
    }

    /// Waits for the process to exit (after a signal); its status and how long it took.
    func waitForExit() async throws -> (status: Int32, took: Duration) {
        let child = process
        return try await onOwnThread { () -> (Int32, Duration) in
            let started = ContinuousClock.now
            child.waitUntilExit()
            return (child.terminationStatus, ContinuousClock.now - started)
        }
    }

    /// A TCP port nobody listens on now.
    static func freePort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

struct ServerProcessFailure: Error, CustomStringConvertible {
    let output: String
    var description: String { output }
}

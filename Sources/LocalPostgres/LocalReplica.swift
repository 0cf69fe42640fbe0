import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

extension LocalCluster {
    /// A streaming replica of this (running) cluster under `directory`: a base backup taken with
    /// `pg_basebackup -R` (standby.signal and primary_conninfo written by it), ready to `start()` on a port of its
    /// own as a hot standby. Roles, data and row-level security are the primary's.
    public func makeReplica(at directory: URL, logger: Logger = Logger(label: "local-replica")) throws -> LocalCluster {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let passwordFile = directory.appendingPathComponent("superuser-password")
        try Data(superuserPassword.utf8).write(to: passwordFile)
        chmod(passwordFile.path, 0o600)
        try Self.handOver(directory, to: runner.runAsUser)
        try Self.handOver(passwordFile, to: runner.runAsUser)
        let data = directory.appendingPathComponent("data")
        do {
            try runner.run(
                binDirectory.appendingPathComponent("pg_basebackup").path,
                [
                    "-d", "host=127.0.0.1 port=\(port) user=\(superuser) password=\(superuserPassword)",
                    "-D", data.path, "-R", "-X", "stream", "--checkpoint=fast", "--no-sync",
                ])
        } catch {
            throw Failure.commandFailed("pg_basebackup failed: \(error)")
        }
        logger.info("made a streaming replica", metadata: ["directory": "\(data.path)"])
        return try LocalCluster.createOrReuse(at: directory, logger: logger)
    }
}

/// pgbouncer as a local process (tests and the local topology), configured from a template (Docker's
/// `pgbouncer.ini`) with the address of the PostgreSQL behind it, the database name, and its own port and files.
public struct LocalPgbouncer: Sendable {
    public let directory: URL
    public let port: Int
    private let runner: ProcessRunner

    var pidFile: URL { directory.appendingPathComponent("pgbouncer.pid") }
    public var logFile: URL { directory.appendingPathComponent("pgbouncer.log") }

    /// Writes the configuration and starts pgbouncer in the background. `template` is an ini whose
    /// `[databases]` line reads `engagement = host=postgres port=5432 dbname=engagement …`; `users` are the
    /// auth file's names and passwords.
    public static func start(
        template: String, in directory: URL, postgresPort: Int, database: String, users: [(String, String)]
    ) throws -> LocalPgbouncer {
        guard let executable = ProcessRunner.which("pgbouncer") ?? ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].first(where: {
            FileManager.default.isExecutableFile(atPath: $0)
        }) else { throw LocalCluster.Failure.commandFailed("pgbouncer not found: install the pgbouncer package") }
        let runner = ProcessRunner(runAsUser: ProcessRunner.isRoot ? try LocalCluster.serviceUser() : nil)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let port = try LocalCluster.freePort()
        let authFile = directory.appendingPathComponent("userlist.txt")
        try Data(users.map { "\"\($0.0)\" \"\($0.1)\"\n" }.joined().utf8).write(to: authFile)
        chmod(authFile.path, 0o600)
        var ini = template
            .replacingOccurrences(of: "engagement = host=postgres port=5432 dbname=engagement",
                                  with: "\(database) = host=127.0.0.1 port=\(postgresPort) dbname=\(database)")
            .replacingOccurrences(of: "listen_addr = 0.0.0.0", with: "listen_addr = 127.0.0.1")
            .replacingOccurrences(of: "listen_port = 6432", with: "listen_port = \(port)")
            .replacingOccurrences(of: "auth_file = /tmp/userlist.txt", with: "auth_file = \(authFile.path)")
        ini += "\npidfile = \(directory.appendingPathComponent("pgbouncer.pid").path)\nlogfile = \(directory.appendingPathComponent("pgbouncer.log").path)\n"
        let iniFile = directory.appendingPathComponent("pgbouncer.ini")
        try Data(ini.utf8).write(to: iniFile)
        try LocalCluster.handOver(directory, to: runner.runAsUser)
        for file in [authFile, iniFile] { try LocalCluster.handOver(file, to: runner.runAsUser) }
        do {
            try runner.run(executable, ["-d", iniFile.path])
        } catch {
            throw LocalCluster.Failure.commandFailed("pgbouncer failed to start: \(error)")
        }
        let bouncer = LocalPgbouncer(directory: directory, port: port, runner: runner)
        // -d returns once it forked; wait until it accepts connections.
        for _ in 0..<100 where !bouncer.isListening { usleep(50_000) }
        return bouncer
    }

    private var isListening: Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// Stops pgbouncer and waits (up to 5 s) until it has exited. SIGTERM, an immediate shutdown: the safe one
    /// (SIGINT) waits for every server connection to be released, and when PostgreSQL stops next it never
    /// finishes (every test run left two pgbouncers behind).
    public func stop() throws {
        guard let text = try? String(contentsOf: pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else { return }
        kill(pid, SIGTERM)
        for _ in 0..<100 where kill(pid, 0) == 0 { usleep(50_000) }
    }
}

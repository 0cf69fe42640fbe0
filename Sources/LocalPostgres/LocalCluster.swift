import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL 15 cluster in a directory of our own: created on first use, reused afterwards.
///
/// It listens on 127.0.0.1 only (no Unix socket), on a free port chosen at start, with SCRAM password
/// authentication. When we run as root, the cluster runs as the `postgres` OS user (or a system user
/// `engagement-pg` we create when there is none), since PostgreSQL refuses to run as root.
public struct LocalCluster: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case binariesNotFound
        case commandFailed(String)
        public var description: String {
            switch self {
            case .binariesNotFound:
                "PostgreSQL 15 server binaries not found (looked in /usr/lib/postgresql/15/bin and PATH); "
                    + "install postgresql-15"
            case .commandFailed(let message): message
            }
        }
    }

    public let directory: URL
    public let binDirectory: URL
    public let superuser = "postgres"
    public let superuserPassword: String
    public private(set) var port: Int
    let runner: ProcessRunner
    private let logger: Logger

    var dataDirectory: URL { directory.appendingPathComponent("data") }
    public var logFile: URL { directory.appendingPathComponent("postgres.log") }

    /// A URL for the cluster's superuser and `database`.
    public func url(user: String? = nil, password: String? = nil, database: String = "postgres") -> String {
        let user = user ?? superuser
        let password = password ?? superuserPassword
        return "postgresql://\(percentEncoded(user)):\(percentEncoded(password))@127.0.0.1:\(port)/\(percentEncoded(database))"
            + "?sslmode=disable&connect_timeout=5"
    }

    /// Creates the cluster under `directory` when it does not exist yet, otherwise reuses it. Does not start it.
    public static func createOrReuse(at directory: URL, logger: Logger = Logger(label: "local-postgres")) throws
        -> LocalCluster
    {
        guard let bin = findBinaries() else { throw Failure.binariesNotFound }
        let runner = ProcessRunner(runAsUser: ProcessRunner.isRoot ? try serviceUser() : nil)
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let passwordFile = directory.appendingPathComponent("superuser-password")
        let dataDirectory = directory.appendingPathComponent("data")
        if !fm.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path) {
            let password = randomToken()
            try Data(password.utf8).write(to: passwordFile)
            chmod(passwordFile.path, 0o600)
            try? fm.removeItem(at: dataDirectory)
            try handOver(directory, to: runner.runAsUser)
            try handOver(passwordFile, to: runner.runAsUser)  // initdb reads it as that user
            logger.info("creating a private PostgreSQL cluster", metadata: ["directory": "\(dataDirectory.path)"])
            do {
                try runner.run(
                    bin.appendingPathComponent("initdb").path,
                    [
                        "-D", dataDirectory.path, "-U", "postgres", "--pwfile", passwordFile.path,
                        "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
                        "--no-sync",
                    ])
            } catch {
                throw Failure.commandFailed("initdb failed: \(error)")
            }
        }
        let password = try String(contentsOf: passwordFile, encoding: .utf8)
        return LocalCluster(
            directory: directory, binDirectory: bin, superuserPassword: password, port: 0, runner: runner,
            logger: logger)
    }

    /// Starts the cluster on a free port (or adopts it when it is already running from an earlier run).
    /// With `tls`, PostgreSQL also accepts TLS with that certificate and key (clients choose with `sslmode`).
    public mutating func start(tls: (certificate: URL, privateKey: URL)? = nil) throws {
        let pidFile = dataDirectory.appendingPathComponent("postmaster.pid")
        if let running = try? runningPort(pidFile: pidFile) {
            port = running
            logger.info("reusing the running private PostgreSQL", metadata: ["port": "\(port)"])
            return
        }
        port = try Self.freePort()
        let settings = """
            # Written by engagement-service at every start; edit postgresql.conf for lasting changes.
            listen_addresses = '127.0.0.1'
            port = \(port)
            unix_socket_directories = ''
            fsync = off
            max_connections = 200
            ssl = \(tls == nil ? "off" : "on")
            """
        if let tls {
            // PostgreSQL insists that its key belongs to it and is private: copy both files in as its user.
            for (source, name) in [(tls.certificate, "server.crt"), (tls.privateKey, "server.key")] {
                try runner.run(
                    "/bin/sh", ["-c", "cat > \"$1\" && chmod 600 \"$1\"", "sh", dataDirectory.appendingPathComponent(name).path],
                    stdin: source.path)
            }
        }
        let conf = dataDirectory.appendingPathComponent("postgresql.conf")
        let include = "include_if_exists = 'engagement_service.conf'\n"
        let existing = (try? String(contentsOf: conf, encoding: .utf8)) ?? ""
        if !existing.contains(include) {
            try runner.run("/bin/sh", ["-c", "printf '%s' \"$1\" >> \"$2\"", "sh", include, conf.path])
        }
        try runner.run(
            "/bin/sh",
            ["-c", "printf '%s\\n' \"$1\" > \"$2\"", "sh", settings, dataDirectory.appendingPathComponent("engagement_service.conf").path])
        do {
            try runner.run(
                binDirectory.appendingPathComponent("pg_ctl").path,
                ["-D", dataDirectory.path, "-l", logFile.path, "-w", "-t", "60", "start"])
        } catch {
            let log = (try? String(contentsOf: logFile, encoding: .utf8)).map { String($0.suffix(2000)) } ?? ""
            throw Failure.commandFailed("pg_ctl start failed: \(error)\n\(log)")
        }
        logger.info("started private PostgreSQL", metadata: ["port": "\(port)"])
    }

    /// Stops the cluster (fast mode: active sessions are rolled back and closed).
    public func stop() throws {
        do {
            try runner.run(binDirectory.appendingPathComponent("pg_ctl").path, ["-D", dataDirectory.path, "-w", "-m", "fast", "stop"])
        } catch {
            throw Failure.commandFailed("pg_ctl stop failed: \(error)")
        }
    }

    /// Starts the stopped (or crashed) cluster again on the port it had (tests of outages).
    public func startAgain() throws {
        try runner.run(
            binDirectory.appendingPathComponent("pg_ctl").path, ["-D", dataDirectory.path, "-l", logFile.path, "-w", "-t", "60", "start"])
    }

    /// The postmaster's process id while it runs (tests that kill it).
    public func postmasterPID() -> Int32? {
        guard let text = try? String(contentsOf: dataDirectory.appendingPathComponent("postmaster.pid"), encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first.flatMap { Int32($0) }
    }

    /// Restarts the cluster on the same port (used by tests of reconnection).
    public func restart() throws {
        try runner.run(
            binDirectory.appendingPathComponent("pg_ctl").path,
            ["-D", dataDirectory.path, "-l", logFile.path, "-w", "-m", "fast", "restart"])
    }

    // MARK: helpers

    private func runningPort(pidFile: URL) throws -> Int? {
        guard let text = try? String(contentsOf: pidFile, encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > 3, let pid = Int32(lines[0]), let port = Int(lines[3]), kill(pid, 0) == 0 else { return nil }
        return port
    }

    static func findBinaries() -> URL? {
        let candidates = ["/usr/lib/postgresql/15/bin"]
            + (ProcessRunner.which("pg_ctl").map { [URL(fileURLWithPath: $0).deletingLastPathComponent().path] } ?? [])
        return candidates.map { URL(fileURLWithPath: $0) }
            .first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("initdb").path) }
    }

    /// The unprivileged OS user to run PostgreSQL as when we are root: `postgres`, else one we create.
    static func serviceUser() throws -> String {
        if getpwnam("postgres") != nil { return "postgres" }
        if getpwnam("engagement-pg") == nil {
            let runner = ProcessRunner(runAsUser: nil)
            try runner.run(
                ProcessRunner.which("useradd") ?? "/usr/sbin/useradd",
                ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "engagement-pg"])
        }
        return "engagement-pg"
    }

    /// Gives `directory` to `user` (when running as root) so PostgreSQL can write there.
    static func handOver(_ directory: URL, to user: String?) throws {
        guard let user, let entry = getpwnam(user) else { return }
        guard chown(directory.path, entry.pointee.pw_uid, entry.pointee.pw_gid) == 0 else {
            throw Failure.commandFailed("cannot give \(directory.path) to \(user)")
        }
        // The path down to the directory must be traversable by that user.
        var parent = directory.deletingLastPathComponent()
        while parent.path != "/" {
            var info = stat()
            if stat(parent.path, &info) == 0, info.st_mode & 0o001 == 0 { chmod(parent.path, info.st_mode | 0o001) }
            parent = parent.deletingLastPathComponent()
        }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure.commandFailed("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw Failure.commandFailed("bind() failed") }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw Failure.commandFailed("getsockname() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// 32 random bytes as hex: passwords for roles of local clusters.
public func randomToken(bytes: Int = 32) -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
}

private func percentEncoded(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
}

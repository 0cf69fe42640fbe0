import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs external programs (initdb, pg_ctl, useradd), as another OS user when asked.
///
/// Uses posix_spawn and waitpid directly rather than Foundation's `Process`, whose child monitoring was seen
/// to leave `pg_ctl start` unreaped (and the caller waiting forever) inside the test runner.
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
    func run(_ executable: String, _ arguments: [String], asOwner: Bool = true, stdin: String = "/dev/null") throws
        -> String
    {
        var argv = [executable] + arguments
        if asOwner, let user = runAsUser {
            argv = [Self.which("runuser") ?? "/usr/sbin/runuser", "-u", user, "--"] + argv
        }
        // Output goes to a temporary file, not a pipe: `pg_ctl start` leaves a postmaster running that
        // inherits the descriptor, and a pipe would then never reach end-of-file.
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("engagement-\(UUID().uuidString).out").path
        defer { unlink(outputPath) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of ours reaches the child: descriptors without close-on-exec (client sockets SwiftNIO
        // accepts, pipes) would otherwise live on in a postmaster `pg_ctl start` leaves running, and a connection
        // the server closed would stay open for its peer (seen: never-handshaking clients never saw their close).
        _ = Self.closeFrom?(&actions, 3)

        // Nor our signal mask: the threads that spawn block most signals (SwiftNIO's, the cooperative pool's), and
        // a child inherits its parent thread's mask, so a pgbouncer started from one never received SIGTERM or
        // SIGINT and outlived every test run. The child starts with no signal blocked and every one at its default.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        var all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, &attributes, cArguments, environ)
        guard spawned == 0 else {
            throw Failure(command: argv.joined(separator: " "), status: -1, output: "posix_spawn failed: \(spawned)")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else {
                throw Failure(command: argv.joined(separator: " "), status: -1, output: "waitpid failed: \(errno)")
            }
        }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // WIFEXITED / WEXITSTATUS, spelled out: the macros are not imported.
        let exited = status & 0x7f == 0
        let exitStatus = exited ? (status >> 8) & 0xff : -1
        guard exitStatus == 0 else {
            throw Failure(command: argv.joined(separator: " "), status: exitStatus, output: output)
        }
        return output
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later; Swift's Glibc module does not declare
    /// it), looked up once; nil where the C library lacks it.
    private static let closeFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(
            symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
        return directories.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static var isRoot: Bool { geteuid() == 0 }
}

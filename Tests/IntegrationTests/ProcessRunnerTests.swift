import Foundation
import Testing

@testable import LocalPostgres

#if canImport(Glibc)
import Glibc
#endif

@Suite("Spawning programs")
struct ProcessRunnerTests {
    @Test("a spawned program inherits no descriptor of ours but its standard ones (a postmaster would keep them open)")
    func noInheritedDescriptors() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)  // pipe(2): without close-on-exec, as the sockets SwiftNIO accepts
        defer { close(ends[0]); close(ends[1]) }
        let listed = try ProcessRunner(runAsUser: nil).run("/bin/sh", ["-c", "ls /proc/self/fd"])
        let descriptors = Set(listed.split(whereSeparator: \.isWhitespace).compactMap { Int32($0) })
        #expect(descriptors.contains(0) && descriptors.contains(1) && descriptors.contains(2), "\(descriptors)")
        #expect(!descriptors.contains(ends[0]) && !descriptors.contains(ends[1]), "inherited: \(descriptors)")
        #expect(descriptors.allSatisfy { $0 <= 3 }, "only the standard ones (and ls's own directory): \(descriptors)")
    }

    @Test("a spawned program starts with no signal blocked, whatever the spawning thread blocks (pgbouncer outlived its stop)")
    func cleanSignalMask() throws {
        var all = sigset_t()
        var previous = sigset_t()
        sigfillset(&all)
        #expect(pthread_sigmask(SIG_BLOCK, &all, &previous) == 0)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        let status = try ProcessRunner(runAsUser: nil).run("/bin/sh", ["-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status"])
        #expect(status.contains("SigBlk:\t0000000000000000"), "\(status)")
    }
}

import Foundation

/// CPU time and peak resident memory of processes, from /proc (Linux).
struct ProcessUsage: Sendable {
    var cpuSeconds: Double
    var peakRSSKiB: Int

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// The process and, when `withChildren`, its direct children (PostgreSQL's backends are children of the
    /// postmaster).
    static func of(_ pid: Int32, withChildren: Bool) -> ProcessUsage {
        var pids = [pid]
        if withChildren, let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") {
            for entry in entries {
                guard let child = Int32(entry), let stat = fields(child), stat.count > 3, Int32(stat[3]) == pid else { continue }
                pids.append(child)
            }
        }
        var usage = ProcessUsage(cpuSeconds: 0, peakRSSKiB: 0)
        for pid in pids {
            if let stat = fields(pid), stat.count > 14, let user = Double(stat[13]), let system = Double(stat[14]) {
                usage.cpuSeconds += (user + system) / ticksPerSecond
            }
            usage.peakRSSKiB += peakRSS(pid)
        }
        return usage
    }

    /// /proc/PID/stat split after the command name (which may contain spaces); index 0 is the pid.
    private static func fields(_ pid: Int32) -> [String]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        return ["\(pid)", "comm"] + text[text.index(after: close)...].split(separator: " ").map(String.init)
    }

    private static func peakRSS(_ pid: Int32) -> Int { status(pid, "VmHWM:") }

    /// The resident memory of one process now, in KiB.
    static func currentRSS(_ pid: Int32) -> Int { status(pid, "VmRSS:") }

    private static func status(_ pid: Int32, _ field: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(field) {
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        return 0
    }
}

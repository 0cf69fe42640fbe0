import Foundation

/// Headless Chromium (Debian's `chromium`), installed with apt-get when missing, never skipped.
enum Chromium {
    static let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]

    static func path() async throws -> String {
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return found }
        let (status, output) = try await runTool("/usr/bin/env", [
            "DEBIAN_FRONTEND=noninteractive", "sh", "-c", "apt-get install -y -qq --no-install-recommends chromium || (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium)",
        ])
        guard status == 0, let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw PythonTool.Failure(output: "installing chromium failed: \(output)")
        }
        return found
    }

    /// Runs headless Chromium on a local file with `arguments` (--dump-dom, --screenshot=…, --print-to-pdf=…).
    static func run(_ file: URL, _ arguments: [String]) async throws -> (Int32, String) {
        try await runTool(try await path(), [
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--disable-dev-shm-usage",
            "--user-data-dir=\(FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString)").path)",
        ] + arguments + [file.absoluteString])
    }
}

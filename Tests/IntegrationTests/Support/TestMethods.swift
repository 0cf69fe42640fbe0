import EngagementService
import Foundation
import JSONRPC
import Logging
import PostgresClient
import Synchronization

/// Methods registered only in tests, to exercise the dispatcher's role checks and in-flight work.
enum TestMethods {
    static let all: [MethodDefinition] = [
        MethodDefinition(
            "test.admin_only", summary: "Needs the admin role.", result: .boolean, access: .role(.admin)
        ) { _, _ in .result(.bool(true)) },
        MethodDefinition(
            "test.sleep", summary: "Sleeps in PostgreSQL.",
            params: [.init("ms", .integer(minimum: 0, maximum: 10_000), "milliseconds")],
            result: .boolean, access: .anonymous
        ) { context, params throws(RPCError) in
            let seconds = Double(params.int("ms") ?? 0) / 1000
            _ = try await context.database.runWithoutTenant([Statement("SELECT pg_sleep($1::float8)", [seconds])])
            return .result(.bool(true))
        },
        MethodDefinition(
            "test.wait_for_lock", summary: "Waits in PostgreSQL until the test releases its advisory lock `key`.",
            params: [.init("key", .integer(minimum: 1, maximum: 1_000_000), "the advisory lock's key")],
            result: .boolean, access: .anonymous
        ) { context, params throws(RPCError) in
            _ = try await context.database.runWithoutTenant(
                [Statement("SELECT pg_advisory_xact_lock_shared($1::bigint)", [params.int("key") ?? 0])])
            return .result(.bool(true))
        },
        MethodDefinition(
            "test.tenant_sleep", summary: "Sleeps in PostgreSQL as the session's organisation (its share of the pool).",
            params: [.init("ms", .integer(minimum: 0, maximum: 10_000), "milliseconds")],
            result: .boolean, access: .role(.viewer)
        ) { context, params throws(RPCError) in
            let seconds = Double(params.int("ms") ?? 0) / 1000
            _ = try await context.database.run(
                as: context.principal, method: context.method, [Statement("SELECT pg_sleep($1::float8)", [seconds])])
            return .result(.bool(true))
        },
        MethodDefinition(
            "test.application_name", summary: "The application_name of the call's database transaction.",
            result: .string(), access: .role(.viewer)
        ) { context, _ throws(RPCError) in
            let result = try await context.database.run(
                as: context.principal, method: context.method, requestID: context.requestID,
                [Statement("SELECT current_setting('application_name')")])
            return .result(.string(result[0].string(0, 0) ?? ""))
        },
    ]

    static var registry: MethodRegistry { .standard(adding: all) }
}

/// Keeps every log message and its metadata, to check what never appears in logs.
final class CapturedLogs: Sendable {
    private let lines = Mutex<[String]>([])

    var all: [String] { lines.withLock { $0 } }

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    var logger: Logger {
        Logger(label: "captured") { _ in CapturingLogHandler(sink: self) }
    }
}

struct CapturingLogHandler: LogHandler {
    let sink: CapturedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        sink.append("\(event.level) \(event.message) \(merged)")
    }
}

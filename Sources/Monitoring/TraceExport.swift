import Logging
import OTel
import ServiceLifecycle
import Tracing

/// The optional OpenTelemetry trace export (`ENGAGEMENT_TRACING=otlp`): swift-otel's tracer becomes the process's
/// tracer, and its batch processor exports the finished spans over OTLP/HTTP. Where and how is configured by the
/// standard `OTEL_*` variables that swift-otel reads (endpoint, `http/protobuf` or `http/json`, sampler, batch
/// delay, service name; docs/operations.md). Off, nothing is bootstrapped and no span is started.
public enum TraceExport {
    /// The service name spans carry unless `OTEL_SERVICE_NAME` says otherwise.
    public static let serviceName = "engagementd"

    /// Bootstraps the process-wide tracer (once per process) and returns the service that exports its spans; run it
    /// in the service group before the server, so that shutting down in reverse order flushes the spans of the
    /// calls the server drained. Diagnostics of the exporter go to `logger`.
    public static func bootstrap(environment: [String: String], logger: Logger) throws -> any Service {
        try check(environment)
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        configuration.diagnosticLogger = .custom(logger)
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(backend.factory)
        return backend.service
    }

    /// A setting swift-otel cannot honour in this build.
    public struct Unsupported: Error, CustomStringConvertible {
        public let variable: String
        public let value: String
        public let reason: String
        public var description: String { "\(variable)=\(value): \(reason)" }
    }

    /// Refuses the `OTEL_*` values this build cannot honour before anything is bootstrapped: swift-otel stops the
    /// process for the gRPC protocol (its exporter is not built in) and ignores, with a warning, a protocol it does
    /// not know, so that an operator's typo would silently export nothing.
    static func check(_ environment: [String: String]) throws {
        for variable in ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"] {
            guard let value = environment[variable] else { continue }
            guard ["http/protobuf", "http/json"].contains(value) else {
                throw Unsupported(
                    variable: variable, value: value,
                    reason: value == "grpc"
                        ? "this build exports OTLP over HTTP only: use http/protobuf (port 4318 of a collector)"
                        : "not an OTLP protocol: http/protobuf (the default) or http/json")
            }
        }
        if let exporter = environment["OTEL_TRACES_EXPORTER"], exporter != "otlp" {
            throw Unsupported(
                variable: "OTEL_TRACES_EXPORTER", value: exporter,
                reason: "ENGAGEMENT_TRACING=otlp exports by OTLP only (ENGAGEMENT_TRACING=off turns tracing off)")
        }
    }

    /// Puts the current span's trace and span ids into every log line written inside it (`trace_id`, `span_id`),
    /// so a log line, a span and the call's PostgreSQL log line (by its request id) can be tied together.
    public static var loggingMetadata: Logger.MetadataProvider { OTel.makeLoggingMetadataProvider() }
}

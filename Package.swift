// swift-tools-version: 6.1
import PackageDescription

let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let tracing = Target.Dependency.product(name: "Tracing", package: "swift-distributed-tracing")

let package = Package(
    name: "engagement-service",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "engagementd", targets: ["engagementd"]),
        .executable(name: "engagementctl", targets: ["engagementctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        // OTLP over HTTP only: the gRPC exporter's packages would double the build for an option nobody needs here.
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // Each target's dependencies are exactly the modules its files import (checked by PackageManifestTests).
        // The only target that sees libpq's C API directly.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(name: "PostgresClient", dependencies: ["CLibPQ", logging, .product(name: "NIOPosix", package: "swift-nio")]),
        // JSON, the JSON-RPC 2.0 envelope, error codes and params schemas: no database, no network.
        .target(name: "JSONRPC"),
        // One JSON-RPC message per line, for the server and the client alike.
        .target(name: "LineFraming", dependencies: [nioCore]),
        // CSV as spreadsheets write it: the import and export format of engagementctl.
        .target(name: "Spreadsheet"),
        // The visual engagement report: report.engagement's answer as one self-contained HTML page.
        .target(name: "EngagementReport", dependencies: ["JSONRPC"]),
        // API keys (format, hash, constant-time check) and generated secrets.
        .target(name: "Credentials", dependencies: [crypto]),
        // The network side: TLS, framing, limits, connection handling. Knows nothing of the domain: it hands
        // each request to an `RPCResponder`.
        .target(
            name: "RPCTransport",
            dependencies: [
                "JSONRPC", "LineFraming", logging, nioCore, .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "NIOTLS", package: "swift-nio"),
            ]
        ),
        // Operating the service: Prometheus metrics, the HTTP endpoint serving them with /healthz and /readyz,
        // JSON log lines, and the optional OpenTelemetry trace export. Knows nothing of the domain.
        .target(
            name: "Monitoring",
            dependencies: [
                logging, nioCore, .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"), tracing, .product(name: "OTel", package: "swift-otel"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The service: method registry, dispatch, sessions, the database runner, background jobs, and the
        // domain methods grouped by context (Domain/<context>/).
        .target(
            name: "EngagementService",
            dependencies: [
                "JSONRPC", "PostgresClient", "RPCTransport", "Credentials", "Monitoring", logging, nioCore, tracing,
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(name: "DatabaseSetup", dependencies: ["PostgresClient", crypto, logging]),
        .target(name: "LocalPostgres", dependencies: [logging]),
        .target(
            name: "DevCertificates",
            dependencies: [
                .product(name: "X509", package: "swift-certificates"), crypto,
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        // Operator tasks: organisations, keys, reporting logins.
        .target(name: "TenantAdministration", dependencies: ["PostgresClient", "Credentials"]),
        .target(
            name: "DevEnvironment",
            dependencies: [
                "LocalPostgres", "DatabaseSetup", "DevCertificates", "TenantAdministration", "PostgresClient", "JSONRPC",
                "Credentials", logging,
            ]
        ),
        .target(
            name: "EngagementClient",
            dependencies: [
                "JSONRPC", "LineFraming", nioCore, .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .executableTarget(
            name: "engagementd",
            dependencies: [
                "EngagementService", "DevEnvironment", "DatabaseSetup", "Monitoring", "JSONRPC", logging,
                .product(name: "NIOPosix", package: "swift-nio"), argumentParser,
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The protocol-level load generator (Benchmarks/README.md); run it as a release build.
        .executableTarget(
            name: "engagement-loadgen",
            dependencies: [
                "EngagementClient", "JSONRPC", argumentParser, .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Benchmarks/LoadGenerator"
        ),
        .executableTarget(
            name: "engagementctl",
            dependencies: [
                "EngagementClient", "DatabaseSetup", "TenantAdministration", "PostgresClient", "JSONRPC", "DevEnvironment",
                "DevCertificates", "Spreadsheet", "EngagementReport", argumentParser,
            ]
        ),
        .testTarget(name: "JSONRPCTests", dependencies: ["JSONRPC"]),
        .testTarget(name: "SpreadsheetTests", dependencies: ["Spreadsheet"]),
        .testTarget(name: "EngagementReportTests", dependencies: ["EngagementReport", "JSONRPC"]),
        .testTarget(name: "PostgresClientTests", dependencies: ["PostgresClient"]),
        .testTarget(name: "DatabaseSetupTests", dependencies: ["DatabaseSetup"]),
        // State machines and framing without sockets or a database.
        .testTarget(
            name: "RPCTransportTests",
            dependencies: ["RPCTransport", "JSONRPC", "LineFraming", nioCore, .product(name: "NIOEmbedded", package: "swift-nio")]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "EngagementService", "EngagementClient", "PostgresClient", "DatabaseSetup", "LocalPostgres", "DevEnvironment",
                "DevCertificates", "TenantAdministration", "JSONRPC", "Credentials", "Monitoring", "RPCTransport", crypto,
                logging, nioCore, .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

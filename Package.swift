// swift-tools-version: 6.0
import PackageDescription

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
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // The only target that sees libpq's C API directly.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(
            name: "PostgresClient",
            dependencies: [
                "CLibPQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(name: "JSONRPC"),
        .target(
            name: "DatabaseSetup",
            dependencies: [
                "PostgresClient",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "LocalPostgres", dependencies: [.product(name: "Logging", package: "swift-log")]),
        .target(
            name: "DevCertificates",
            dependencies: [
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        .target(
            name: "TenantAdministration",
            dependencies: ["PostgresClient", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "DevEnvironment",
            dependencies: [
                "LocalPostgres", "DatabaseSetup", "DevCertificates", "TenantAdministration", "PostgresClient", "JSONRPC",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "EngagementServer",
            dependencies: [
                "JSONRPC", "PostgresClient", "TenantAdministration",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "EngagementClient",
            dependencies: [
                "JSONRPC",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .executableTarget(
            name: "engagementd",
            dependencies: [
                "EngagementServer", "DevEnvironment", "LocalPostgres", "DevCertificates", "DatabaseSetup",
                "TenantAdministration", "JSONRPC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The protocol-level load generator (Benchmarks/README.md); run it as a release build.
        .executableTarget(
            name: "engagement-loadgen",
            dependencies: [
                "EngagementClient", "JSONRPC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Benchmarks/LoadGenerator"
        ),
        .executableTarget(
            name: "engagementctl",
            dependencies: [
                "EngagementClient", "DatabaseSetup", "TenantAdministration", "PostgresClient", "JSONRPC", "DevEnvironment",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "JSONRPCTests", dependencies: ["JSONRPC"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "EngagementServer", "EngagementClient", "PostgresClient", "DatabaseSetup", "LocalPostgres", "DevEnvironment",
                "DevCertificates", "TenantAdministration", "JSONRPC",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

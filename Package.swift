// swift-tools-version: 6.2
import PackageDescription

/// Settings every target of the hub shares: Swift 6 language mode (strict
/// concurrency) and warnings treated as errors.
let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "coordination-hub",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "coordination-hub", targets: ["coordination-hub"]),
        .executable(name: "coordination-hub-mcp", targets: ["coordination-hub-mcp"]),
        .library(name: "HubCore", targets: ["HubCore"]),
        .library(name: "HubStore", targets: ["HubStore"]),
        .library(name: "HubStoreSQLite", targets: ["HubStoreSQLite"]),
        .library(name: "HubEngine", targets: ["HubEngine"]),
        .library(name: "HubServer", targets: ["HubServer"]),
        .library(name: "HubMCP", targets: ["HubMCP"]),
        .library(name: "HubTesting", targets: ["HubTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk.git", from: "0.12.1"),
    ],
    targets: [
        .target(
            name: "HubCore",
            dependencies: [
                .product(name: "Collections", package: "swift-collections"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .target(name: "HubStore", dependencies: ["HubCore"], swiftSettings: strict),
        .target(
            name: "HubStoreSQLite",
            dependencies: [
                "HubStore", .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for the event append's bindings (RawInsert).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                // gzip of older events' data (configure-persistence compression_enabled).
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "HubEngine",
            dependencies: [
                "HubStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "HubServer",
            dependencies: [
                "HubEngine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "HubMCP",
            dependencies: [
                "HubEngine",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "HubCLI",
            dependencies: [
                "HubEngine", "HubStoreSQLite", "HubServer",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // NIOConnectionError, to say why a --hub server could not be reached.
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "coordination-hub", dependencies: ["HubCLI"], swiftSettings: strict),
        // The MCP server, which `coordination-hub mcp` execs: apart, because the MCP SDK links
        // FoundationNetworking (libcurl), whose loading would slow every command's start.
        .executableTarget(
            name: "coordination-hub-mcp",
            dependencies: ["HubCLI", "HubMCP", .product(name: "MCP", package: "swift-sdk")],
            swiftSettings: strict),
        .target(
            name: "HubTesting",
            dependencies: [
                "HubEngine", "HubStoreSQLite",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "HubCoreTests", dependencies: ["HubCore", "HubTesting"], swiftSettings: strict),
        .testTarget(
            name: "HubStoreSQLiteTests",
            dependencies: [
                "HubStoreSQLite", "HubTesting",
                // To read query plans of the store's own statements.
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "HubEngineTests",
            dependencies: [
                "HubEngine", "HubTesting",
                // To check webhook bodies independently of the code under test.
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HubServerTests",
            dependencies: [
                "HubServer", "HubTesting", .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "HubMCPTests",
            dependencies: ["HubMCP", "HubTesting", .product(name: "MCP", package: "swift-sdk")],
            swiftSettings: strict),
        .testTarget(
            name: "HubCLITests", dependencies: ["HubCLI", "HubTesting", "coordination-hub", "coordination-hub-mcp"],
            swiftSettings: strict),
    ]
)

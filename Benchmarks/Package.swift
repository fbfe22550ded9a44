// swift-tools-version: 6.1
import PackageDescription

// The benchmarks of coordination-hub, a package of its own so that the main
// package does not depend on the benchmark tooling. Run from this directory:
//
//   swift package benchmark                      # package-benchmark suite
//   swift run -c release engine-vs-grdb          # the ratio quoted in docs/PERFORMANCE.md
//   swift run -c release checkpoint-bench state  # issue 5: checkpoint and restore vs get-status
//   swift run -c release checkpoint-bench files  # issue 5: second capture of unchanged files
//   swift run -c release hub-load dispatch URL   # issue 6: a running server under load (scripts/bench-server.sh)
let package = Package(
    name: "coordination-hub-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "coordination-hub", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        // The HTTP client of hub-load and its byte buffers; the versions the main package uses.
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // The two workloads, shared by the benchmark suite and the ratio runner.
        .target(
            name: "BenchSupport",
            dependencies: [
                .product(name: "HubEngine", package: "coordination-hub"),
                .product(name: "HubStoreSQLite", package: "coordination-hub"),
                .product(name: "HubCore", package: "coordination-hub"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Sources/BenchSupport",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "HubBenchmarks",
            dependencies: [
                "BenchSupport",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/HubBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "dispatch-bench",
            dependencies: [
                "BenchSupport",
                .product(name: "HubEngine", package: "coordination-hub"),
                .product(name: "HubStoreSQLite", package: "coordination-hub"),
                .product(name: "HubCore", package: "coordination-hub"),
            ],
            path: "Sources/dispatch-bench",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "checkpoint-bench",
            dependencies: [
                "BenchSupport",
                .product(name: "HubEngine", package: "coordination-hub"),
                .product(name: "HubStoreSQLite", package: "coordination-hub"),
                .product(name: "HubCore", package: "coordination-hub"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Sources/checkpoint-bench",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "engine-vs-grdb",
            dependencies: ["BenchSupport"],
            path: "Sources/engine-vs-grdb",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Issue 6: a load generator that drives a running `coordination-hub serve` over
        // HTTP only (no hub module), so it measures what a client sees.
        .executableTarget(
            name: "hub-load",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            path: "Sources/hub-load",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)

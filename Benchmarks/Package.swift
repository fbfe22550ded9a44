// swift-tools-version: 6.1
import PackageDescription

// The benchmarks of coordination-hub, a package of its own so that the main
// package does not depend on the benchmark tooling. Run from this directory:
//
//   swift package benchmark                      # package-benchmark suite
//   swift run -c release engine-vs-grdb          # the ratio quoted in docs/PERFORMANCE.md
//   swift run -c release checkpoint-bench state  # issue 5: checkpoint and restore vs get-status
//   swift run -c release checkpoint-bench files  # issue 5: second capture of unchanged files
let package = Package(
    name: "coordination-hub-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "coordination-hub", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
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
    ]
)

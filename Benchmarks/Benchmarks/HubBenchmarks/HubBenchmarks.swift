import BenchSupport
import Benchmark

// package-benchmark suite: run with `swift package benchmark` in Benchmarks/.
//
// "Engine cycle" is one create + start + get-status (2 fsynced write
// transactions); "Bare GRDB 2 writes" is the limit it is compared with: two
// fsynced single-row write transactions on a plain GRDB DatabaseQueue with the
// same settings. Both run in the same process and the same run, so the ratio of
// their throughputs is the figure that matters, not either absolute number.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput],
        timeUnits: .microseconds,
        warmupIterations: 20,
        maxDuration: .seconds(5),
        maxIterations: 2_000
    )

    Benchmark("Engine cycle (create+start+get-status)") { benchmark in
        let engine = try EngineWorkload()
        var index = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try await engine.cycle(index)
            index += 1
        }
        benchmark.stopMeasurement()
        try await engine.close()
    }

    Benchmark("Bare GRDB 2 fsynced writes") { benchmark in
        let bare = try BareGRDBWorkload()
        var index = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try bare.transaction(index)
            try bare.transaction(index + 1)
            index += 2
        }
        benchmark.stopMeasurement()
        try bare.close()
    }
}

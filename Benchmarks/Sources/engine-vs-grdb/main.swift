import BenchSupport
import Foundation

// Runs the engine's create+start+get-status cycles and a bare GRDB loop doing the
// same number of fsynced write transactions (2 per cycle), back to back in one
// process, several rounds (the order alternating); prints the rates and the ratio
// as JSON, and exits 1 when the median ratio is below 0.5.
//
//   swift run -c release engine-vs-grdb [cycles] [rounds]
//   swift run -c release engine-vs-grdb --breakdown [cycles]   # where a cycle's time goes
// Options: `--breakdown`, `--concurrency N` (N callers drive cycles at once, each
// cycle still sequential, so the store can group their commits; default 1),
// `--pooled` (the store with a pool of reader connections, as a server opens it).
struct Options {
    var breakdown = false
    var pooled = false
    var concurrency = 1
    var numbers: [Int] = []

    init(_ arguments: [String]) {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--breakdown": breakdown = true
            case "--pooled": pooled = true
            case "--concurrency": concurrency = max(1, rest.popFirst().flatMap { Int($0) } ?? 1)
            default: if let n = Int(argument) { numbers.append(n) }
            }
        }
    }
}
let options = Options(Array(CommandLine.arguments.dropFirst()))
let breakdown = options.breakdown
let pooled = options.pooled
let concurrency = options.concurrency
let arguments = options.numbers
let cycles = arguments.first ?? 2_000
let rounds = arguments.dropFirst().first ?? 3
let transactions = cycles * EngineWorkload.writesPerCycle

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func formatted(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }

let clock = ContinuousClock()

if breakdown {
    var totals: [String: Duration] = [:]
    do {
        let engine = try EngineWorkload(timed: true)
        for index in 0..<cycles {
            try await engine.cycle(index) { operation, elapsed in totals[operation, default: .zero] += elapsed }
        }
        let store = engine.timing?.snapshot ?? [:]
        try await engine.close()
        let bare = try BareGRDBWorkload()
        let bareTime = try clock.measure { for index in 0..<transactions { try bare.transaction(index) } }
        try bare.close()
        func perCycle(_ duration: Duration) -> String { formatted(seconds(duration) * 1000 / Double(cycles), 3) }
        var fields = EngineWorkload.operations.map { operation in
            "\"\(operation)_mean_ms\": \(perCycle(totals[operation] ?? .zero))"
        }
        for kind in ["read", "write"] {
            let t = store[kind] ?? .init()
            fields.append(
                "\"store_\(kind)s_per_cycle\": \(formatted(Double(t.calls) / Double(cycles), 1)), "
                    + "\"store_\(kind)_ms_per_cycle\": \(perCycle(t.total)), "
                    + "\"store_\(kind)_body_ms_per_cycle\": \(perCycle(t.body))")
        }
        print(
            "{\"cycles\": \(cycles), \(fields.joined(separator: ", ")), "
                + "\"grdb_write_transaction_mean_ms\": \(formatted(seconds(bareTime) * 1000 / Double(transactions), 3))}"
        )
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("engine-vs-grdb: \(error)\n".utf8))
        exit(1)
    }
}

var rows: [String] = []
var ratios: [Double] = []
do {
    for round in 1...rounds {
        func runEngine() async throws -> Duration {
            sync()  // no write-back of the previous part runs during this one
            let engine = try EngineWorkload(pooled: pooled)
            let time = try await clock.measure {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<concurrency {
                        group.addTask {
                            for index in stride(from: worker, to: cycles, by: concurrency) {
                                try await engine.cycle(index)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            try await engine.close()
            return time
        }
        func runBare() throws -> Duration {
            sync()
            let bare = try BareGRDBWorkload()
            let time = try clock.measure {
                for index in 0..<transactions { try bare.transaction(index) }
            }
            try bare.close()
            return time
        }
        // Odd rounds run the engine first, even rounds the bare loop first, so that
        // neither always follows the other's leftover disk work.
        let engineTime: Duration
        let bareTime: Duration
        if round % 2 == 1 {
            engineTime = try await runEngine()
            bareTime = try runBare()
        } else {
            bareTime = try runBare()
            engineTime = try await runEngine()
        }

        let cyclesPerSecond = Double(cycles) / seconds(engineTime)
        let engineWritesPerSecond = Double(transactions) / seconds(engineTime)
        let bareWritesPerSecond = Double(transactions) / seconds(bareTime)
        let ratio = engineWritesPerSecond / bareWritesPerSecond
        ratios.append(ratio)
        rows.append(
            """
                {"round": \(round), "engine_cycles": \(cycles), "engine_seconds": \(formatted(seconds(engineTime), 3)), \
            "engine_cycles_per_second": \(formatted(cyclesPerSecond)), \
            "engine_write_transactions_per_second": \(formatted(engineWritesPerSecond)), \
            "grdb_transactions": \(transactions), "grdb_seconds": \(formatted(seconds(bareTime), 3)), \
            "grdb_write_transactions_per_second": \(formatted(bareWritesPerSecond)), "ratio": \(formatted(ratio, 3))}
            """)
        FileHandle.standardError.write(Data("round \(round): ratio \(formatted(ratio, 3))\n".utf8))
    }
} catch {
    FileHandle.standardError.write(Data("engine-vs-grdb: \(error)\n".utf8))
    exit(1)
}
let sorted = ratios.sorted()
let median = sorted[sorted.count / 2]
print(
    """
    {
      "writes_per_cycle": \(EngineWorkload.writesPerCycle),
      "concurrency": \(concurrency), "pooled": \(pooled),
      "rounds": [
    \(rows.joined(separator: ",\n"))
      ],
      "median_ratio": \(formatted(median, 3)),
      "target_ratio": 0.5,
      "target_met": \(median >= 0.5)
    }
    """)
exit(median >= 0.5 ? 0 : 1)

/// Latencies in nanoseconds, summarised as percentiles in milliseconds.
struct Samples: Sendable {
    private(set) var values: [Int64] = []

    mutating func add(_ nanoseconds: Int64) { values.append(nanoseconds) }
    mutating func add(contentsOf other: Samples) { values.append(contentsOf: other.values) }

    var count: Int { values.count }

    /// p50, p90, p99, p99.9 and max in milliseconds (nearest rank), with the count;
    /// an empty set gives only the count.
    func summary() -> [String: Any] {
        guard !values.isEmpty else { return ["count": 0] }
        let sorted = values.sorted()
        func percentile(_ p: Double) -> Double {
            let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
            return milliseconds(sorted[min(max(rank, 1), sorted.count) - 1])
        }
        let mean = Double(sorted.reduce(0, +)) / Double(sorted.count) / 1e6
        return [
            "count": sorted.count,
            "p50_ms": percentile(50), "p90_ms": percentile(90), "p99_ms": percentile(99),
            "p999_ms": percentile(99.9), "max_ms": milliseconds(sorted[sorted.count - 1]),
            "mean_ms": rounded(mean),
        ]
    }

    private func milliseconds(_ nanoseconds: Int64) -> Double { rounded(Double(nanoseconds) / 1e6) }
}

/// Three decimals: microseconds in a millisecond figure, enough for every target here.
func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

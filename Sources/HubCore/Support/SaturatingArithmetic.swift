/// Sums of stored numbers that input can bring to the edge of `Int64` (durations up to what
/// ``HubDuration/init(parsing:)`` accepts, loaded counters): held at the largest value
/// instead of trapping, which killed the process serving every other request too.
extension Int64 {
    /// `self + other`, held at `Int64.max` (or `.min`) where it would overflow.
    public func saturatingAdd(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other < 0 ? .min : .max) : sum
    }
}

extension Sequence where Element == Int64 {
    /// The sum, held at `Int64.max` (or `.min`) where it would overflow.
    public func saturatingSum() -> Int64 { reduce(0) { $0.saturatingAdd($1) } }
}

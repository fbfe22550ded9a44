import Foundation
import Synchronization

/// The wall clock the hub reads for timestamps, deadlines and ages.
///
/// Injected everywhere so that tests advance time instead of sleeping.
public protocol WallClock: Sendable {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    func nowMilliseconds() -> Int64
}

/// The real clock.
public struct SystemClock: WallClock {
    public init() {}
    public func nowMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}

/// A clock that moves only when told to, for tests.
public final class ManualClock: WallClock {
    private let now: Mutex<Int64>

    /// Starts at `milliseconds` (defaults to 2026-01-15T12:00:00Z).
    public init(milliseconds: Int64 = 1_768_478_400_000) { now = Mutex(milliseconds) }

    public func nowMilliseconds() -> Int64 { now.withLock { $0 } }

    /// Moves the clock forward.
    public func advance(by duration: HubDuration) { now.withLock { $0 += duration.milliseconds } }

    /// Sets the clock.
    public func set(milliseconds: Int64) { now.withLock { $0 = milliseconds } }
}

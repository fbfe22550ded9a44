import Synchronization
import Testing

@testable import HubEngine

/// Callers of a gate take turns: the second enters only once the first has left, even when
/// the first suspends inside (where an actor would let the second in).
@Suite struct TurnGateTests {
    final class Log: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    @Test func aSecondCallerWaitsUntilTheFirstHasLeft() async {
        let gate = TurnGate()
        let log = Log()
        let (firstInside, insideSignal) = AsyncStream.makeStream(of: Void.self)
        let (release, releaseSignal) = AsyncStream.makeStream(of: Void.self)
        let first = Task {
            await gate.run {
                log.append("first in")
                insideSignal.yield()
                // Suspended inside until the test lets it go.
                for await _ in release { break }
                log.append("first out")
            }
        }
        for await _ in firstInside { break }
        let second = Task { await gate.run { log.append("second in") } }
        // Whatever the second has done by now, it has not entered: the first is still inside.
        await Task.yield()
        #expect(log.all == ["first in"])
        releaseSignal.yield()
        await first.value
        await second.value
        #expect(log.all == ["first in", "first out", "second in"])
    }

    @Test func neverTwoCallersAreInsideAtOnce() async {
        let gate = TurnGate()
        let inside = Counter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    await gate.run {
                        inside.enter()
                        await Task.yield()
                        inside.leave()
                    }
                }
            }
        }
        #expect(inside.most == 1)
    }

    final class Counter: Sendable {
        private let state = Mutex((now: 0, most: 0))
        func enter() {
            state.withLock {
                $0.now += 1
                $0.most = max($0.most, $0.now)
            }
        }
        func leave() { state.withLock { $0.now -= 1 } }
        var most: Int { state.withLock { $0.most } }
    }
}

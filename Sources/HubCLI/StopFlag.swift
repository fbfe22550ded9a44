import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Set when SIGINT or SIGTERM arrives, so long-running commands stop gracefully.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    /// Sleepers to wake when the flag is set, by a number of their own.
    private let sleepers = Mutex<(next: Int, waiting: [Int: CheckedContinuation<Void, Never>])>((0, [:]))

    /// Set by a second SIGINT or SIGTERM while stopping: stop now, ending what is still
    /// running instead of waiting for it. (Itself a flag that has no further one.)
    let urgent: StopFlag?

    init() { urgent = StopFlag(last: ()) }
    private init(last: Void) { urgent = nil }

    var isSet: Bool { flag.load(ordering: .acquiring) }

    /// Sets the flag; answers `false` when it was set already.
    @discardableResult
    func set() -> Bool {
        guard !flag.exchange(true, ordering: .acquiringAndReleasing) else { return false }
        let woken = sleepers.withLock { state in
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        for sleeper in woken { sleeper.resume() }
        return true
    }

    /// Returns once the flag is set (at once if it is), or when the task is cancelled.
    func wait() async { await untilSet() }

    /// Sleeps for `duration`, or until the flag is set (a signal must not wait out a long
    /// `--idle-delay`), or until the task is cancelled.
    func sleep(for duration: Duration) async {
        guard !isSet else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: duration) }
            group.addTask { await self.untilSet() }
            await group.next()
            group.cancelAll()
        }
    }

    private func untilSet() async {
        let id = sleepers.withLock { state in
            state.next += 1
            return state.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = sleepers.withLock { state -> Bool in
                    guard !isSet, !Task.isCancelled else { return true }
                    state.waiting[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            sleepers.withLock { $0.waiting.removeValue(forKey: id) }?.resume()
        }
    }

    /// Routes SIGINT and SIGTERM to this flag (instead of ending the process), calling
    /// `onSignal` once each; a signal that finds the flag set sets ``urgent``.
    func installSignalHandlers(onSignal: @escaping @Sendable (Int32) -> Void) {
        for sig in [SIGINT, SIGTERM] {
            // A handler, not SIG_IGN: an ignored signal stays ignored in the commands the agent
            // runner starts, and they could then not be stopped with SIGTERM.
            signal(sig, { _ in })
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                if !self.set() { self.urgent?.set() }
                onSignal(sig)
            }
            source.resume()
            // The sources live as long as the process: keep them from being released.
            _ = Unmanaged.passRetained(source as AnyObject)
        }
    }
}

import Synchronization

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
    /// `onSignal` once for each delivery, with `again` true when it found the flag set
    /// already (it then sets ``urgent``). Each delivery counts, however close together
    /// (``Platform/Signals``), and is handled on a thread of its own, never waiting for one
    /// of the pool that the process's tasks share.
    func installSignalHandlers(onSignal: @escaping @Sendable (_ signal: Int32, _ again: Bool) -> Void) {
        Platform.Signals.listen { [weak self] sig in
            guard let self else { return }
            let again = !self.set()
            if again { self.urgent?.set() }
            onSignal(sig, again)
        }
    }
}

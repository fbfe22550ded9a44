import HubEngine
import Synchronization

/// The leases an agent runner holds, shared by its claim loop, its tasks and its
/// heartbeat, with the command each task runs, so that a lease the hub no longer
/// renews, or a second stop signal, can end that command.
final class HeldLeases: Sendable {
    /// Why a task's command was stopped before it ended by itself.
    enum Ending: Sendable, Equatable {
        /// The hub no longer renews the lease (the task timed out, or the lease was
        /// revoked or expired): the task is someone else's now, so nothing is reported.
        case leaseLost
        /// A second SIGINT or SIGTERM: the task is reported for another attempt.
        case runnerStopped
    }

    private struct Entry {
        /// `workflow/task`, to find an earlier run of the same task.
        var task = ""
        var command: Task<ChildProcess.Outcome, Never>?
        var exited = false
        var ending: Ending?
    }

    private let leases = Mutex<[String: Entry]>([:])

    func insert(_ id: String, task: String = "") {
        leases.withLock { leases in
            var entry = leases[id] ?? Entry()
            entry.task = task
            leases[id] = entry
        }
    }

    /// Stops the runs of `task` under other leases than `keeping`: the hub handed the task out
    /// again, so their leases are gone.
    func stopOtherRuns(of task: String, keeping lease: String) {
        let others = leases.withLock { leases in
            leases.filter { $0.key != lease && !$0.value.task.isEmpty && $0.value.task == task }.map(\.key)
        }
        for id in others { stop(id, because: .leaseLost) }
    }
    func remove(_ id: String) { _ = leases.withLock { $0.removeValue(forKey: id) } }
    var all: [String] { leases.withLock { $0.keys.sorted() } }

    /// Runs the command of the task under lease `id` and answers its outcome, or — when
    /// it was stopped, or was to be before it started (and then it does not start) —
    /// why; `outcome` is then what the stopped command returned, if it ran.
    func run(_ id: String, _ command: @escaping @Sendable () async -> ChildProcess.Outcome) async -> (
        outcome: ChildProcess.Outcome?, ending: Ending?
    ) {
        let started = leases.withLock { leases -> Task<ChildProcess.Outcome, Never>? in
            var entry = leases[id] ?? Entry()
            guard entry.ending == nil else { return nil }
            let task = Task { await command() }
            entry.command = task
            leases[id] = entry
            return task
        }
        guard let started else { return (nil, leases.withLock { $0[id]?.ending }) }
        let outcome = await started.value
        let ending = leases.withLock { leases -> Ending? in
            leases[id]?.exited = true
            return leases[id]?.ending
        }
        return (outcome, ending)
    }

    /// Stops the command of lease `id` because of `ending`, or keeps it from starting;
    /// `false` when there is nothing to stop: the lease is not held here, its command has
    /// exited already (its outcome is being reported), or it is being stopped already.
    @discardableResult
    func stop(_ id: String, because ending: Ending) -> Bool {
        let found = leases.withLock { leases -> (Bool, Task<ChildProcess.Outcome, Never>?) in
            guard var entry = leases[id], !entry.exited, entry.ending == nil else { return (false, nil) }
            entry.ending = ending
            leases[id] = entry
            return (true, entry.command)
        }
        found.1?.cancel()
        return found.0
    }

    /// Stops every command still running; answers how many.
    @discardableResult
    func stopAll(because ending: Ending) -> Int {
        all.filter { stop($0, because: ending) }.count
    }
}

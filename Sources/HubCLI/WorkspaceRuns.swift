import Synchronization

/// The runs of an agent runner's tasks by workspace, so that a task asking for a commit
/// (`evidence.commit`) can tell whether the HEAD its command left is its own work. The
/// runner takes a HEAD that moved while the command ran as the task's commit; with
/// `--max-tasks` above 1, another task of the runner in the same workspace may have moved
/// it meanwhile, and the task was completed with that task's commit. Nothing in a commit
/// says which command made it, so such a HEAD is not offered as either task's evidence.
///
/// Only this runner's own runs are seen: another runner in the same workspace is not.
final class WorkspaceRuns: Sendable {
    private struct State {
        var next = 0
        /// The runs going on in each workspace: whether another run there overlapped each.
        var running: [String: [Int: Bool]] = [:]
        /// HEADs reached while runs overlapped: no retry offers one as its own earlier commit.
        var unattributable: Set<String> = []
    }

    private let state = Mutex(State())

    /// A run in `workspace` begins (before its HEAD is read): answers its number for ``end(_:in:)``.
    func begin(in workspace: String) -> Int {
        state.withLock { state in
            let id = state.next
            state.next += 1
            var runs = state.running[workspace] ?? [:]
            let alone = runs.isEmpty
            for other in runs.keys { runs[other] = true }
            runs[id] = !alone
            state.running[workspace] = runs
            return id
        }
    }

    /// The run `id` has ended (after its HEAD was read again): answers whether another run in
    /// its workspace went on at some time between its ``begin(in:)`` and now.
    func end(_ id: Int, in workspace: String) -> Bool {
        state.withLock { state in
            let overlapped = state.running[workspace]?.removeValue(forKey: id) ?? false
            if state.running[workspace]?.isEmpty == true { state.running[workspace] = nil }
            return overlapped
        }
    }

    /// Records `commit` as one no task of this runner can claim as its own.
    func disown(_ commit: String) {
        _ = state.withLock { $0.unattributable.insert(commit) }
    }

    /// Whether `commit` was reached while runs overlapped (``disown(_:)``).
    func isDisowned(_ commit: String) -> Bool {
        state.withLock { $0.unattributable.contains(commit) }
    }
}

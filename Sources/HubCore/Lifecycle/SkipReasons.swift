/// The reasons given to tasks skipped because a dependency can never complete (§5): a
/// dependency that failed or was cancelled is named so; one that was itself skipped for that
/// reason is named as skipped, with the failed or cancelled task behind it. (A task two
/// steps from a failure read "dependency b failed" though b never ran.)
public struct SkipReasons {
    /// The failed or cancelled task behind each skipped task looked up so far.
    private var roots: [String: Root] = [:]

    private struct Root {
        let taskID: String
        let cancelled: Bool
        var said: String { "\(taskID) \(cancelled ? "was cancelled" : "failed")" }
    }

    public init() {}

    /// Why a task depending on `blocker`, which can never complete (``WorkTask/isDead``), is
    /// skipped. `lookup` finds a task of the workflow by id, to follow a skipped blocker back
    /// to its cause along `blocked_by`.
    public mutating func reason(blockedBy blocker: WorkTask, lookup: (String) throws -> WorkTask?) rethrows -> String {
        guard blocker.status == .skipped else {
            return "dependency \(blocker.taskID) \(blocker.status == .cancelled ? "was cancelled" : "failed")"
        }
        guard let root = try root(of: blocker, lookup: lookup) else {
            return "dependency \(blocker.taskID) was skipped"
        }
        return "dependency \(blocker.taskID) was skipped (\(root.said))"
    }

    /// Follows `blocked_by` from a skipped task to the failed or cancelled one behind it;
    /// `nil` when the chain ends elsewhere (a task brought back since, a cycle, a gap).
    private mutating func root(of task: WorkTask, lookup: (String) throws -> WorkTask?) rethrows -> Root? {
        var path: [String] = []
        var seen: Set<String> = []
        var current = task
        var found: Root?
        while true {
            if let known = roots[current.taskID] {
                found = known
                break
            }
            if current.status == .failed || current.status == .cancelled {
                found = Root(taskID: current.taskID, cancelled: current.status == .cancelled)
                break
            }
            guard current.status == .skipped, seen.insert(current.taskID).inserted,
                let next = current.lastError?["blocked_by"]?.stringValue, let blocker = try lookup(next)
            else { break }
            path.append(current.taskID)
            current = blocker
        }
        // Remembered for every task on the way: a long chain is followed once.
        if let found { for id in path { roots[id] = found } }
        return found
    }
}

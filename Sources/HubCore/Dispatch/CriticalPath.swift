/// The critical path of each task: the longest chain of estimates from the task
/// through its dependents to the end of the graph (§7). Running the task with the
/// longest such chain first minimizes the total completion time.
public enum CriticalPath {
    /// The weight of a task without an estimate. One minute.
    public static let defaultEstimate: Int64 = 60_000

    /// Milliseconds of the longest chain starting at each task. The graph must be a DAG.
    public static func lengths(_ tasks: [WorkTask]) -> [String: Int64] {
        var dependents: [String: [String]] = [:]
        var weight: [String: Int64] = [:]
        for t in tasks {
            weight[t.taskID] = t.estimate?.milliseconds ?? defaultEstimate
            for d in t.dependsOn { dependents[d, default: []].append(t.taskID) }
        }
        var memo: [String: Int64] = [:]
        // Iterative post-order so that long chains cannot overflow the stack.
        for root in tasks.map(\.taskID) where memo[root] == nil {
            var stack: [(String, Bool)] = [(root, false)]
            while let (node, expanded) = stack.popLast() {
                if memo[node] != nil { continue }
                let next = dependents[node] ?? []
                if expanded {
                    // Held at the longest duration: estimates may each be that long, and a chain of
                    // them overflowed (a trap), or made a length no snapshot may carry.
                    let length = (weight[node] ?? defaultEstimate).saturatingAdd(
                        next.compactMap { memo[$0] }.max() ?? 0)
                    memo[node] = min(length, WorkflowSnapshot.longestDuration)
                } else {
                    stack.append((node, true))
                    for d in next where memo[d] == nil { stack.append((d, false)) }
                }
            }
        }
        return memo
    }
}

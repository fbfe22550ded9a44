/// Which checkpoints retention removes (§11): all but the newest `keep` of a workflow,
/// except that the newest valid one always stays.
public enum CheckpointRetention {
    /// Checkpoints to delete, given the workflow's checkpoints newest first as `(id, valid)`.
    /// `keep` below 1 is treated as 1.
    public static func expired(_ newestFirst: [(id: String, valid: Bool)], keep: Int) -> [String] {
        let keep = max(1, keep)
        guard newestFirst.count > keep else { return [] }
        let kept = newestFirst.prefix(keep)
        let newestValid = newestFirst.first(where: \.valid)?.id
        return newestFirst.dropFirst(keep).map(\.id).filter { id in
            !(id == newestValid && !kept.contains(where: { $0.id == id }))
        }
    }
}

import HubCore
import HubStore

/// Finds the checkpoint a request names (§11, §17): an id is taken as named and refused
/// when corrupt; `latest` and names let the hub choose, skipping corrupt ones for the
/// newest valid one when `auto_recovery` is on.
struct CheckpointResolver {
    struct Choice {
        var checkpoint: Checkpoint
        var document: CheckpointDocument
        var fallbackUsed: Bool
        var skippedCorrupt: [String]
        /// The valid checkpoints older than the one chosen, newest first.
        var olderValid: [Checkpoint]
    }

    let workflowID: String
    let autoRecovery: Bool

    /// `reference`: a `chkpt_…` id, `latest`, or a checkpoint name.
    func resolve(_ reference: String, in tx: any StoreReader) throws(HubError) -> Choice {
        let all: [Checkpoint]
        do {
            all = try tx.checkpoints(of: workflowID, limit: 10_000)
        } catch let error as HubError {
            throw error
        } catch {
            throw HubError(.storeUnavailable, "Cannot read the checkpoints of \(workflowID): \(error)")
        }
        var verdicts: [String: CheckpointDocument] = [:]
        for c in all { if let doc = try? c.verifiedDocument() { verdicts[c.checkpointID] = doc } }
        let newestValid = all.first { verdicts[$0.checkpointID] != nil }
        func older(than c: Checkpoint) -> [Checkpoint] {
            guard let index = all.firstIndex(where: { $0.checkpointID == c.checkpointID }) else { return [] }
            return all[(index + 1)...].filter { verdicts[$0.checkpointID] != nil }
        }
        if reference.hasPrefix("chkpt_") {
            guard let c = all.first(where: { $0.checkpointID == reference }) else { throw notFound(reference, all) }
            guard let doc = verdicts[c.checkpointID] else { throw corrupt(c, newestValid: newestValid, explicit: true) }
            return Choice(
                checkpoint: c, document: doc, fallbackUsed: false, skippedCorrupt: [], olderValid: older(than: c))
        }
        let candidates = reference == "latest" ? all : all.filter { $0.name == reference }
        guard let first = candidates.first else { throw notFound(reference, all) }
        if let doc = verdicts[first.checkpointID] {
            return Choice(
                checkpoint: first, document: doc, fallbackUsed: false, skippedCorrupt: [],
                olderValid: older(than: first))
        }
        let valid = candidates.first { verdicts[$0.checkpointID] != nil }
        guard autoRecovery, let valid, let doc = verdicts[valid.checkpointID] else {
            throw corrupt(first, newestValid: valid ?? newestValid, explicit: false)
        }
        let skipped = candidates.prefix { $0.checkpointID != valid.checkpointID }.map(\.checkpointID)
        return Choice(
            checkpoint: valid, document: doc, fallbackUsed: true, skippedCorrupt: skipped,
            olderValid: older(than: valid))
    }

    private func notFound(_ reference: String, _ all: [Checkpoint]) -> HubError {
        HubError(
            .checkpointNotFound, "Workflow \(workflowID) has no checkpoint \"\(reference.prefix(128))\"",
            details: all.isEmpty
                ? "It has no checkpoints yet." : "Name one by its checkpoint_id, its name, or 'latest'.",
            context: ["checkpoint": .string(String(reference.prefix(128)))],
            suggestions: all.isEmpty
                ? ["Take one: coordination-hub \(workflowID) checkpoint '{\"name\": \"manual\"}'"]
                : ["List them: coordination-hub \(workflowID) list-checkpoints"])
    }

    private func corrupt(_ c: Checkpoint, newestValid: Checkpoint?, explicit: Bool) -> HubError {
        let alternative = newestValid.map { "; the newest valid checkpoint is \($0.checkpointID) (\($0.name))" }
        var suggestions: [String] = []
        if let newestValid {
            suggestions.append(
                "Restore that one: coordination-hub \(workflowID) restore '{\"checkpoint_id\": \"\(newestValid.checkpointID)\"}'"
            )
        }
        if !explicit && !autoRecovery { suggestions.append("Pass auto_recovery: true to let the hub use it") }
        suggestions.append("Load a bundle written by save-state with load-state")
        return HubError(
            .checkpointCorrupt,
            "Checkpoint \(c.checkpointID) (\(c.name)) of workflow \(workflowID) is corrupt: its snapshot fails its SHA-256 checksum\(alternative ?? "; the workflow has no valid checkpoint")",
            details: explicit
                ? "A checkpoint named by id is never silently replaced; nothing was changed."
                : "Nothing was changed.",
            context: [
                "checkpoint_id": .string(c.checkpointID),
                "newest_valid_checkpoint": .optional(newestValid?.checkpointID),
            ], suggestions: suggestions)
    }
}

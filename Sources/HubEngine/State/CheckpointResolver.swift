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

    /// How many older valid checkpoints a choice offers as fallback options. Each is read and
    /// hashed, which for a large workflow costs about as much as a quarter of the restore: one.
    static let fallbackCount = 1

    /// `reference`: a `chkpt_…` id, `latest`, or a checkpoint name. Checkpoints are read and
    /// verified newest first, one at a time, only as far as the answer needs.
    func resolve(_ reference: String, in tx: any StoreReader) throws(HubError) -> Choice {
        do {
            return try lookUp(reference, in: tx)
        } catch let error as HubError {
            throw error
        } catch {
            throw HubError(.storeUnavailable, "Cannot read the checkpoints of \(workflowID): \(error)")
        }
    }

    private func lookUp(_ reference: String, in tx: any StoreReader) throws -> Choice {
        let ids = try tx.checkpointIDs(of: workflowID)
        // Validity is the checksum; only the chosen snapshot is parsed (a snapshot that hashes
        // right but cannot be read counts as corrupt too).
        var loaded: [String: (Checkpoint, Bool)] = [:]
        func load(_ id: String) throws -> (Checkpoint, Bool)? {
            if let hit = loaded[id] { return hit }
            guard let c = try tx.checkpoint(id: id) else { return nil }
            let entry = (c, c.isValid)
            loaded[id] = entry
            return entry
        }
        func document(_ c: Checkpoint) -> CheckpointDocument? {
            guard let doc = try? c.parsedDocument() else {
                loaded[c.checkpointID] = (c, false)
                return nil
            }
            return doc
        }
        func newestValid() throws -> Checkpoint? {
            for id in ids { if let (c, valid) = try load(id), valid { return c } }
            return nil
        }
        func olderValid(than id: String) throws -> [Checkpoint] {
            guard let index = ids.firstIndex(of: id) else { return [] }
            var out: [Checkpoint] = []
            for older in ids.dropFirst(index + 1) where out.count < Self.fallbackCount {
                if let (c, valid) = try load(older), valid { out.append(c) }
            }
            return out
        }
        if reference.hasPrefix("chkpt_") {
            guard ids.contains(reference), let (c, valid) = try load(reference) else {
                throw notFound(reference, empty: ids.isEmpty)
            }
            guard valid, let doc = document(c) else {
                throw corrupt(c, newestValid: try newestValid(), explicit: true)
            }
            return Choice(
                checkpoint: c, document: doc, fallbackUsed: false, skippedCorrupt: [],
                olderValid: try olderValid(than: c.checkpointID))
        }
        var skipped: [String] = []
        var firstCorrupt: Checkpoint?
        for id in ids {
            guard let (c, valid) = try load(id), reference == "latest" || c.name == reference else { continue }
            if valid, let doc = document(c) {
                return Choice(
                    checkpoint: c, document: doc, fallbackUsed: !skipped.isEmpty, skippedCorrupt: skipped,
                    olderValid: try olderValid(than: c.checkpointID))
            }
            skipped.append(c.checkpointID)
            if firstCorrupt == nil { firstCorrupt = c }
            if !autoRecovery { break }
        }
        guard let firstCorrupt else { throw notFound(reference, empty: ids.isEmpty) }
        // Nothing usable among the candidates: name the newest valid checkpoint of any name.
        throw corrupt(firstCorrupt, newestValid: try newestValid(), explicit: false)
    }

    private func notFound(_ reference: String, empty: Bool) -> HubError {
        HubError(
            .checkpointNotFound, "Workflow \(workflowID) has no checkpoint \"\(reference.prefix(128))\"",
            details: empty
                ? "It has no checkpoints yet." : "Name one by its checkpoint_id, its name, or 'latest'.",
            context: ["checkpoint": .string(String(reference.prefix(128)))],
            suggestions: empty
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

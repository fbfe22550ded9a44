import HubCore
import HubStore

/// Finds the checkpoint a request names (§11, §17): an id is taken as named and refused
/// when corrupt; `latest` and names let the hub choose, skipping corrupt ones for the
/// newest valid one when `auto_recovery` is on — for a name, the newest valid checkpoint
/// (of any name) no newer than the newest checkpoint of that name.
struct CheckpointResolver {
    struct Choice {
        var checkpoint: Checkpoint
        var document: CheckpointDocument
        var fallbackUsed: Bool
        var skippedCorrupt: [String]
        /// The valid checkpoints older than the one chosen, newest first.
        var olderValid: [Checkpoint]
        /// Contents read and found whole while choosing (with `withContents`), by SHA-256.
        var wholeContents: Set<String> = []
    }

    let workflowID: String
    let autoRecovery: Bool
    /// Whether a checkpoint whose file contents are missing or damaged counts as corrupt: it
    /// does for a restore that puts files back; the state alone does not need them.
    var withContents = false

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
        // Validity is the checksum (and, with contents, theirs); only the chosen snapshot is
        // parsed (a snapshot that hashes right but cannot be read counts as corrupt too).
        var validity = CheckpointValidity(withContents: withContents)
        var loaded: [String: CheckpointValidity.Verdict] = [:]
        var rows: [String: Checkpoint] = [:]
        /// The stored checkpoint, not yet verified: enough to know its name.
        func row(_ id: String) throws -> Checkpoint? {
            if let hit = rows[id] { return hit }
            let c = try tx.checkpoint(id: id)
            rows[id] = c
            return c
        }
        func load(_ id: String) throws -> CheckpointValidity.Verdict? {
            if let hit = loaded[id] { return hit }
            guard let c = try row(id) else { return nil }
            let verdict = try validity.check(c, in: tx)
            loaded[id] = verdict
            return verdict
        }
        func document(_ verdict: CheckpointValidity.Verdict) -> CheckpointDocument? {
            if let parsed = verdict.document { return parsed }
            do {
                return try verdict.checkpoint.parsedDocument()
            } catch {
                loaded[verdict.checkpoint.checkpointID]?.problem = "its snapshot cannot be read (\(error.message))"
                return nil
            }
        }
        func newestValid() throws -> Checkpoint? {
            for id in ids { if let verdict = try load(id), verdict.isValid { return verdict.checkpoint } }
            return nil
        }
        func olderValid(than id: String) throws -> [Checkpoint] {
            guard let index = ids.firstIndex(of: id) else { return [] }
            var out: [Checkpoint] = []
            for older in ids.dropFirst(index + 1) where out.count < Self.fallbackCount {
                if let verdict = try load(older), verdict.isValid { out.append(verdict.checkpoint) }
            }
            return out
        }
        func chosen(_ c: Checkpoint, _ doc: CheckpointDocument, skipped: [String]) throws -> Choice {
            Choice(
                checkpoint: c, document: doc, fallbackUsed: !skipped.isEmpty, skippedCorrupt: skipped,
                olderValid: try olderValid(than: c.checkpointID), wholeContents: validity.wholeContents)
        }
        if reference.hasPrefix("chkpt_") {
            guard ids.contains(reference), let verdict = try load(reference) else {
                throw notFound(reference, empty: ids.isEmpty)
            }
            guard verdict.isValid, let doc = document(verdict) else {
                throw corrupt(loaded[reference] ?? verdict, newestValid: try newestValid(), explicit: true)
            }
            return try chosen(verdict.checkpoint, doc, skipped: [])
        }
        // The hub chooses (§11): from the named point back — the newest checkpoint for `latest`, the
        // newest of that name for a name — corrupt ones are skipped for the newest valid one, of any
        // name. Never a newer one: a restore to a name goes back at least as far as asked.
        var skipped: [String] = []
        var firstCorrupt: CheckpointValidity.Verdict?
        var reached = reference == "latest"
        for id in ids {
            if !reached {
                guard try row(id)?.name == reference else { continue }
                reached = true
            }
            guard let verdict = try load(id) else { continue }
            if verdict.isValid, let doc = document(verdict) {
                return try chosen(verdict.checkpoint, doc, skipped: skipped)
            }
            skipped.append(id)
            if firstCorrupt == nil { firstCorrupt = loaded[id] ?? verdict }
            if !autoRecovery { break }
        }
        guard let firstCorrupt else { throw notFound(reference, empty: ids.isEmpty) }
        // Nothing usable from the named point back: name the newest valid checkpoint of any name.
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

    private func corrupt(_ verdict: CheckpointValidity.Verdict, newestValid: Checkpoint?, explicit: Bool) -> HubError {
        let c = verdict.checkpoint
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
            "Checkpoint \(c.checkpointID) (\(c.name)) of workflow \(workflowID) is corrupt: \(verdict.problem ?? "it cannot be read")\(alternative ?? "; the workflow has no valid checkpoint")",
            details: explicit
                ? "A checkpoint named by id is never silently replaced; nothing was changed."
                : "Nothing was changed.",
            context: [
                "checkpoint_id": .string(c.checkpointID),
                "newest_valid_checkpoint": .optional(newestValid?.checkpointID),
            ], suggestions: suggestions)
    }
}

import Foundation
import HubCore
import HubStore

/// The checkpoints a bundle carries (`save-state` with `include_checkpoints`) and the file
/// contents their manifests name, and how `load-state` brings them back (§6).
///
/// Each checkpoint travels as the export writes it (its `list-checkpoints` entry and its
/// snapshot); its stored bytes are the snapshot's canonical JSON, so the checkpoint's own
/// SHA-256 is checked again on the way in. Contents go in the `checkpoint_contents` section,
/// base64 by SHA-256, once each however many checkpoints name them.
extension StateBundle {
    /// The `checkpoint_contents` section: every content the valid checkpoints' manifests name
    /// that the store holds whole (one that fails its SHA-256 is left out: its checkpoint is
    /// corrupt here and stays so where it is loaded).
    static func contentsSection(_ checkpoints: [Checkpoint], in tx: any CheckpointReader) throws -> JSONValue {
        var section: [String: String] = [:]
        for checkpoint in checkpoints where checkpoint.isValid && checkpoint.fileCount > 0 {
            guard let document = try? checkpoint.parsedDocument() else { continue }
            for entry in document.files where section[entry.sha256] == nil {
                guard let bytes = try tx.contents(sha256: entry.sha256), Checksum.sha256(bytes) == entry.sha256
                else { continue }
                section[entry.sha256] = Data(bytes).base64EncodedString()
            }
        }
        var json: JSONValue = .emptyObject
        for (sha, text) in section.sorted(by: { $0.key < $1.key }) { json[sha] = .string(text) }
        return json
    }

    /// What a bundle's checkpoints section holds, read and checked.
    struct BundledCheckpoints {
        /// Checkpoints to store, oldest first (the order they were taken in), with their manifests.
        var checkpoints: [(checkpoint: Checkpoint, files: [CheckpointFile])] = []
        /// Entries that carry no snapshot (corrupt where the bundle was written): `{checkpoint_id, reason}`.
        var skipped: [JSONValue] = []
        /// Contents by SHA-256, each checked against it.
        var contents: [String: [UInt8]] = [:]
    }

    /// Reads the checkpoints of a bundle of `workflowID` (none when it has no such section).
    /// Each must be a checkpoint of that workflow whose snapshot reads as one; with `verify`,
    /// each must also hash to its recorded checksum and each content to its SHA-256. Anything
    /// else is `CHECKPOINT_CORRUPT`: the load is refused whole.
    static func checkpoints(in document: JSONValue, workflowID: String, verify: Bool, path: String) throws(HubError)
        -> BundledCheckpoints
    {
        func corrupt(_ why: String) -> HubError {
            HubError(
                .checkpointCorrupt, "Bundle \(path) is corrupt: \(why)",
                details: "The bundle cannot be trusted; nothing was loaded.",
                context: ["newest_valid_checkpoint": .null],
                suggestions: [
                    "Load it without its checks (verify_integrity false) only if you trust it",
                    "Write a fresh one with 'save-state' and backup_location",
                ])
        }
        var out = BundledCheckpoints()
        guard let section = document["sections"]?["checkpoints"] else { return out }
        guard let entries = section.arrayValue else { throw corrupt("the checkpoints section is not a list") }
        var seen: Set<String> = []
        // The export lists them newest first; they are stored oldest first, as they were taken.
        for (n, entry) in entries.enumerated().reversed() {
            let label = "checkpoints[\(n)]"
            guard let id = entry["checkpoint_id"]?.stringValue, id.hasPrefix("chkpt_"), Identifier.isValid(id) else {
                throw corrupt("\(label) has no valid checkpoint_id")
            }
            guard seen.insert(id).inserted else { throw corrupt("checkpoint \(id) is listed twice") }
            guard let snapshot = entry["snapshot"], snapshot != .null else {
                out.skipped.append([
                    "checkpoint_id": .string(id),
                    "reason": "it was corrupt where the bundle was written: the bundle carries no snapshot of it",
                ])
                continue
            }
            guard let name = entry["name"]?.stringValue, isSafeName(name),
                let trigger = entry["trigger"]?.stringValue.flatMap(CheckpointTrigger.init(rawValue:)),
                let created = entry["created_at"]?.stringValue.flatMap(Timestamp.parseMilliseconds),
                let version = entry["state_version"]?.intValue,
                let sequence = entry["event_sequence"]?.intValue,
                let checksum = entry["checksum"]?.stringValue, checksum.utf8.count == 64,
                let fileCount = entry["file_count"]?.intValue
            else {
                throw corrupt("checkpoint \(id) lacks a name, trigger, created_at, state_version or checksum it needs")
            }
            // Counters the hub counts on from there: in range as the workflow's own are.
            let largest = WorkflowSnapshot.largestCounter
            guard (1...largest).contains(version) else {
                throw corrupt("checkpoint \(id)'s state_version \(version) is out of range (1...\(largest))")
            }
            guard (0...largest).contains(sequence) else {
                throw corrupt("checkpoint \(id)'s event_sequence \(sequence) is out of range (0...\(largest))")
            }
            guard (0...WorkflowSnapshot.latestTimestamp).contains(created) else {
                throw corrupt("checkpoint \(id)'s created_at is not a time between 1970 and 9999")
            }
            let stateValid: Bool?
            switch entry["state_valid"] {
            case .none, .some(.null): stateValid = nil
            case .some(.bool(let valid)): stateValid = valid
            default: throw corrupt("checkpoint \(id) has a state_valid that is not a boolean")
            }
            let bytes = snapshot.serializedBytes(.canonical)
            if verify && Checksum.sha256(bytes) != checksum {
                throw corrupt("checkpoint \(id)'s snapshot does not match its checksum")
            }
            // What comes back from outside is held to the rules, checksum or not.
            let parsed: CheckpointDocument
            do {
                parsed = try CheckpointDocument(json: snapshot, checkpointID: id)
            } catch {
                throw corrupt(error.message)
            }
            guard parsed.state.workflow.id == workflowID else {
                throw corrupt("checkpoint \(id) holds workflow \(parsed.state.workflow.id), not \(workflowID)")
            }
            guard fileCount == Int64(parsed.files.count) else {
                throw corrupt("checkpoint \(id) says \(fileCount) files but its manifest lists \(parsed.files.count)")
            }
            let checkpoint = Checkpoint(
                checkpointID: id, workflowID: workflowID, name: name, trigger: trigger, createdAt: created,
                stateVersion: version, eventSequence: sequence, checksum: checksum, document: bytes,
                fileCount: parsed.files.count, stateValid: stateValid)
            out.checkpoints.append((checkpoint, parsed.files))
        }
        let named = Set(out.checkpoints.flatMap { $0.files.map(\.sha256) })
        guard let contents = document["sections"]?["checkpoint_contents"] else { return out }
        guard let object = contents.objectValue else {
            throw corrupt("the checkpoint_contents section is not an object")
        }
        for (sha, value) in object where named.contains(sha) {
            guard let text = value.stringValue, let data = Data(base64Encoded: text) else {
                throw corrupt("the contents \(sha) are not base64")
            }
            let bytes = [UInt8](data)
            // Contents that fail their SHA-256 are never stored under it; unverified, their
            // checkpoints load as they would have with the contents missing (corrupt for files).
            guard Checksum.sha256(bytes) == sha else {
                if verify { throw corrupt("the contents \(sha) do not match their SHA-256") }
                continue
            }
            out.contents[sha] = bytes
        }
        return out
    }

    /// What storing a bundle's checkpoints did.
    struct CheckpointImport {
        var loaded: [String] = []
        /// Already in the store, identical.
        var kept: [String] = []
        /// Loaded, but some contents their manifests name are neither in the bundle nor the store.
        var withoutContents: [String] = []
        var contentsStored = 0

        func json(skipped: [JSONValue]) -> JSONValue {
            [
                "loaded": .strings(loaded), "already_present": .strings(kept),
                "without_contents": .strings(withoutContents), "skipped": .array(skipped),
                "contents_stored": .count(contentsStored),
            ]
        }
    }

    /// Stores the checkpoints inside `load-state`'s transaction. A checkpoint id the store
    /// already holds is kept when it is the same checkpoint (every field and byte equal: the
    /// same bundle loaded twice); a different one under that id refuses the whole load, since
    /// either copy could be the one someone means to restore.
    static func store(_ bundled: BundledCheckpoints, in tx: any StoreWriter, path: String) throws -> CheckpointImport {
        var result = CheckpointImport()
        var conflicts: [String] = []
        var fresh: [(checkpoint: Checkpoint, files: [CheckpointFile])] = []
        for item in bundled.checkpoints {
            if let existing = try tx.checkpoint(id: item.checkpoint.checkpointID) {
                if existing == item.checkpoint {
                    result.kept.append(existing.checkpointID)
                } else {
                    conflicts.append(existing.checkpointID)
                }
            } else {
                fresh.append(item)
            }
        }
        guard conflicts.isEmpty else {
            throw HubError(
                .invalidParameters,
                "Bundle \(path) holds checkpoint(s) \(conflicts.prefix(10).joined(separator: ", ")) that differ from the stored checkpoint(s) with the same id; nothing was loaded",
                details:
                    "A checkpoint id names one checkpoint. The bundle's copy and the stored one differ (another workflow's, or changed since), so neither is replaced.",
                context: ["field": "bundle", "conflicting_checkpoints": .strings(conflicts)],
                suggestions: [
                    "List the stored ones with 'list-checkpoints'",
                    "Load the bundle into a state directory of its own",
                ])
        }
        let named = Array(Set(fresh.flatMap { $0.files.map(\.sha256) }))
        var present = try tx.storedContents(named)
        for sha in named.sorted() where !present.contains(sha) {
            guard let bytes = bundled.contents[sha] else { continue }
            try tx.storeContents(sha256: sha, bytes: bytes)
            present.insert(sha)
            result.contentsStored += 1
        }
        for (checkpoint, files) in fresh {
            // Stamps from another machine must never let a capture here skip reading a file:
            // a zero change time marks them untrusted, as racily clean stamps are.
            var stamps: [PathKey: FileStamp] = [:]
            for file in files {
                stamps[PathKey(file.path)] = FileStamp(
                    sha256: file.sha256, size: file.size, mode: file.mode, modifiedNanos: 0, changedNanos: 0, inode: 0)
            }
            try tx.insert(checkpoint, files: stamps)
            result.loaded.append(checkpoint.checkpointID)
            if files.contains(where: { !present.contains($0.sha256) }) {
                result.withoutContents.append(checkpoint.checkpointID)
            }
        }
        return result
    }

    /// A checkpoint name as the hub makes them (`manual_3`, `phase_1_complete`, `before_<task>`):
    /// it becomes a file name in the export, so no separator, dot or other character.
    static func isSafeName(_ name: String) -> Bool {
        let bytes = name.utf8
        guard let first = bytes.first, bytes.count <= Checkpoint.maximumNameLength, first != UInt8(ascii: "_"),
            first != UInt8(ascii: "-")
        else { return false }
        return name != "latest"
            && bytes.allSatisfy { b in
                (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == UInt8(ascii: "_")
                    || b == UInt8(ascii: "-")
            }
    }
}

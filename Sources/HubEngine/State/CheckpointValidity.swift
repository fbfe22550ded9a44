import HubCore
import HubStore

/// Whether checkpoints are whole (§11): the snapshot hashes to its checksum, can be read, and,
/// for a checkpoint with files, every content its manifest names is stored and still hashes to
/// its SHA-256.
///
/// Cost: contents are content-addressed and shared between checkpoints, so one value of this
/// type reads and hashes each distinct content once, however many checkpoints name it. Checking
/// a workflow's checkpoints costs about the distinct bytes they captured (for checkpoints of one
/// workspace, little more than one capture), read one content at a time, never all held at once.
/// Checkpoints without files cost what they did: one hash of the snapshot.
struct CheckpointValidity {
    /// What a check found about one checkpoint.
    struct Verdict {
        var checkpoint: Checkpoint
        /// The snapshot, when the check parsed it.
        var document: CheckpointDocument?
        /// Why it is corrupt, or `nil` when it is whole.
        var problem: String?
        var isValid: Bool { problem == nil }
    }

    /// Whether file contents count (`false`: the snapshot alone, for a use that needs no files).
    let withContents: Bool
    /// Contents checked so far: `true` when stored and whole.
    private(set) var checked: [String: Bool] = [:]

    init(withContents: Bool = true) { self.withContents = withContents }

    /// The contents this value found whole.
    var wholeContents: Set<String> { Set(checked.filter(\.value).keys) }

    /// Checks one checkpoint; the snapshot is parsed when `parse` is set or its manifest is needed.
    mutating func check(_ c: Checkpoint, in tx: any CheckpointReader, parse: Bool = false) throws -> Verdict {
        guard c.isValid else {
            return Verdict(checkpoint: c, problem: "its snapshot fails its SHA-256 checksum")
        }
        let needsManifest = withContents && c.fileCount > 0
        guard parse || needsManifest else { return Verdict(checkpoint: c) }
        let document: CheckpointDocument
        do {
            document = try c.parsedDocument()
        } catch {
            return Verdict(checkpoint: c, problem: "its snapshot cannot be read (\(error.message))")
        }
        if needsManifest {
            for entry in document.files where !(try whole(entry.sha256, in: tx)) {
                return Verdict(
                    checkpoint: c, document: document,
                    problem: "the stored contents of \(entry.path) are missing or fail their SHA-256")
            }
        }
        return Verdict(checkpoint: c, document: document)
    }

    private mutating func whole(_ sha256: String, in tx: any CheckpointReader) throws -> Bool {
        if let known = checked[sha256] { return known }
        let ok = try tx.contents(sha256: sha256).map(Checksum.sha256) == sha256
        checked[sha256] = ok
        return ok
    }
}

import HubCore

/// What the store remembers about a captured file besides its manifest entry, so the next
/// capture can reuse its hash without reading it (as git's index does): `lstat` facts.
public struct FileStamp: Sendable, Equatable {
    public var sha256: String
    public var size: Int64
    public var mode: Int
    /// Modification and status-change times in nanoseconds, and the inode.
    public var modifiedNanos: Int64
    public var changedNanos: Int64
    public var inode: Int64

    /// The id of a set of stamps: the SHA-256 of every field of every stamp, paths in byte
    /// order (each field ended by a NUL, which no path or hash contains), so checkpoints that
    /// captured the same files in the same state share one stored set.
    public static func setID(_ stamps: [PathKey: FileStamp]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(stamps.count * 160)
        for (path, s) in stamps.sorted(by: { $0.key < $1.key }) {
            for field in [
                path.path, s.sha256, String(s.size), String(s.mode), String(s.modifiedNanos),
                String(s.changedNanos), String(s.inode),
            ] {
                bytes += field.utf8
                bytes.append(0)
            }
        }
        return Checksum.sha256(bytes)
    }

    public init(sha256: String, size: Int64, mode: Int, modifiedNanos: Int64, changedNanos: Int64, inode: Int64) {
        self.sha256 = sha256
        self.size = size
        self.mode = mode
        self.modifiedNanos = modifiedNanos
        self.changedNanos = changedNanos
        self.inode = inode
    }
}

/// Reads of checkpoints (§11) and of the content-addressed file contents they reference.
public protocol CheckpointReader {
    /// The checkpoint with that `chkpt_…` id, or `nil`.
    func checkpoint(id: String) throws -> Checkpoint?
    /// The workflow's checkpoints, newest first (by creation time, then insertion order).
    func checkpoints(of workflowID: String, limit: Int) throws -> [Checkpoint]
    /// The ids of the workflow's checkpoints, newest first, without reading their snapshots.
    func checkpointIDs(of workflowID: String) throws -> [String]
    /// When the workflow's newest checkpoint was taken, or `nil` when it has none.
    func latestCheckpointTime(of workflowID: String) throws -> Int64?
    /// Which of these SHA-256 values have stored contents.
    func storedContents(_ sha256s: [String]) throws -> Set<String>
    /// The stored contents with that SHA-256, or `nil`.
    func contents(sha256: String) throws -> [UInt8]?
    /// The stamps of the files the checkpoint captured, by path (by its bytes: two names that
    /// differ only in Unicode normalization are two files).
    func fileStamps(checkpointID: String) throws -> [PathKey: FileStamp]
    /// Whether a stored checkpoint has the stamps with this ``FileStamp/setID(_:)`` (then
    /// their contents are stored too).
    func holdsFileSet(id: String) throws -> Bool
}

/// Writes of checkpoints.
public protocol CheckpointWriter: CheckpointReader {
    /// Stores a checkpoint with the stamps of its files (whose contents must be stored
    /// already); `fileSet` is their ``FileStamp/setID(_:)``, `nil` when there are none.
    func insert(_ checkpoint: Checkpoint, files: [PathKey: FileStamp], fileSet: String?) throws
    /// Removes checkpoints (their contents stay until ``removeUnreferencedContents()``).
    func removeCheckpoints(_ ids: [String]) throws
    /// Stores contents under their SHA-256; contents already stored are left alone.
    func storeContents(sha256: String, bytes: [UInt8]) throws
    /// Stores contents under their SHA-256 in place of what is stored (contents found corrupt).
    func replaceContents(sha256: String, bytes: [UInt8]) throws
    /// Removes contents no checkpoint references; answers how many went and their bytes.
    func removeUnreferencedContents() throws -> (count: Int, bytes: Int64)
}

extension CheckpointReader {
    /// Whether a stored checkpoint has exactly these stamps.
    public func holdsFileSet(_ stamps: [PathKey: FileStamp]) throws -> Bool {
        stamps.isEmpty ? true : try holdsFileSet(id: FileStamp.setID(stamps))
    }
}

extension CheckpointWriter {
    /// Stores a checkpoint with the stamps of its files, computing their set's id.
    public func insert(_ checkpoint: Checkpoint, files: [PathKey: FileStamp]) throws {
        try insert(checkpoint, files: files, fileSet: files.isEmpty ? nil : FileStamp.setID(files))
    }
}

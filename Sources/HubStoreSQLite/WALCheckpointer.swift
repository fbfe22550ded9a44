import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Checkpoints the WAL of a serving store on a connection and thread of its own, so that
/// no commit waits while the WAL is copied into the database file.
///
/// SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past 1,000
/// frames: that commit's writer copies the WAL's pages into the database file and
/// `fdatasync`s it before it returns, and every operation of the turn, and every one
/// queued behind it, waits (docs/PERFORMANCE.md, "Session 10"). Installed on the writer's
/// connection, this replaces that checkpoint (a WAL hook of one's own turns SQLite's
/// off): after each commit the hook learns how many frames the WAL holds, and past
/// ``threshold`` it asks for a passive checkpoint here, which copies the committed frames
/// while the writer goes on. The writer then copies the few frames committed meanwhile
/// (``finish(on:)``), so that its next turn starts the WAL over. Nothing about durability
/// changes: every commit was already synced to the WAL.
///
/// A checkpoint that fails (another process's checkpoint holds the lock, a disk error)
/// is tried again at the next commit past the threshold.
final class WALCheckpointer: Sendable {
    /// What one checkpoint did, as `sqlite3_wal_checkpoint_v2` reports it.
    struct Outcome: Sendable, Equatable {
        /// SQLite's result code (`SQLITE_OK` when it ran).
        var code: Int32
        /// Frames in the WAL, and how many of them are now in the database file.
        var walFrames: Int32
        var copiedFrames: Int32
    }

    /// The WAL's size, in frames, past which a commit asks for a checkpoint (SQLite's own
    /// automatic checkpoint uses 1,000).
    let threshold: Int32
    private let connection: Connection
    private let queue = DispatchQueue(label: "coordination-hub.wal-checkpointer", qos: .utility)
    private let state = Mutex(State())

    private struct State {
        /// From a commit's request until the writer has finished the checkpoint it started
        /// (or it failed): no commit asks for another meanwhile.
        var requested = false
        /// The frames the last checkpoint here copied, until the writer has looked at them.
        var copied: Int32?
        var suspended = false
        var closed = false
        /// Frames in the WAL after the last commit, as the hook last heard.
        var walFrames: Int32 = 0
        var observer: (@Sendable (Outcome) -> Void)?
    }

    /// The checkpointer's own connection; used only on `queue`.
    private final class Connection: @unchecked Sendable {
        var handle: OpaquePointer?
        init(_ handle: OpaquePointer?) { self.handle = handle }
    }

    /// Opens the checkpointer's connection to the database at `path`.
    init(path: String, threshold: Int32 = 1_000) throws {
        self.threshold = threshold
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
        let opened = sqlite3_open_v2(path, &handle, flags, nil)
        // A checkpoint syncs the database file once it has copied the frames (FULL is also
        // SQLite's default; it is set so that no build option can change it).
        guard opened == SQLITE_OK, sqlite3_exec(handle, "PRAGMA synchronous = FULL", nil, nil, nil) == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(handle)
            throw DatabaseError(resultCode: ResultCode(rawValue: opened), message: message)
        }
        connection = Connection(handle)
    }

    deinit { sqlite3_close_v2(connection.handle) }

    /// Makes `db`'s commits report to this checkpointer instead of checkpointing themselves.
    /// `db` must be closed, or ``uninstall(from:)`` called, before the checkpointer goes.
    func install(on db: Database) {
        sqlite3_wal_hook(db.sqliteConnection, walHook, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Takes the hook off `db` (which then does not checkpoint until it closes).
    func uninstall(from db: Database) {
        sqlite3_wal_hook(db.sqliteConnection, nil, nil)
    }

    /// Waits for a checkpoint under way and closes the connection; later requests do nothing.
    func close() async {
        state.withLock { $0.closed = true }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            queue.async {
                sqlite3_close_v2(self.connection.handle)
                self.connection.handle = nil
                done.resume()
            }
        }
    }

    /// Called on the writer's thread after each commit, with the frames now in the WAL.
    fileprivate func committed(walFrames: Int32) {
        let start = state.withLock { state -> Bool in
            state.walFrames = walFrames
            guard walFrames >= threshold, !state.requested, !state.suspended, !state.closed else { return false }
            state.requested = true
            return true
        }
        if start { queue.async { self.checkpoint() } }
    }

    private func checkpoint() {
        var walFrames: Int32 = 0
        var copiedFrames: Int32 = 0
        let code =
            connection.handle.map {
                sqlite3_wal_checkpoint_v2($0, nil, SQLITE_CHECKPOINT_PASSIVE, &walFrames, &copiedFrames)
            } ?? SQLITE_MISUSE
        let observer = state.withLock { state in
            if code == SQLITE_OK {
                state.copied = copiedFrames
            } else {
                state.requested = false
            }
            return state.observer
        }
        observer?(Outcome(code: code, walFrames: walFrames, copiedFrames: copiedFrames))
    }

    /// Called by the writer before each turn, outside any transaction. The WAL starts over
    /// only when a write begins with every frame in the database file; a busy writer
    /// commits while a checkpoint here runs, so the checkpoint never catches up by itself,
    /// the WAL keeps growing and the checkpoints follow one another. After one, the writer
    /// copies what was committed meanwhile — a few frames — so that its turn starts the
    /// WAL over.
    func finish(on db: Database) {
        let wanted = state.withLock { state -> Bool in
            guard let copied = state.copied else { return false }
            state.copied = nil
            state.requested = false
            return copied < state.walFrames && !state.closed
        }
        if wanted { sqlite3_wal_checkpoint_v2(db.sqliteConnection, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil) }
    }

    // MARK: For tests

    /// Frames in the WAL after the last commit.
    var walFrames: Int32 { state.withLock { $0.walFrames } }

    /// Tells `observer` the outcome of every later checkpoint, on the checkpointer's thread.
    func observe(_ observer: (@Sendable (Outcome) -> Void)?) { state.withLock { $0.observer = observer } }

    /// While suspended, commits past the threshold ask for nothing.
    func suspend(_ suspended: Bool) { state.withLock { $0.suspended = suspended } }
}

/// SQLite's WAL hook: runs inside each COMMIT on the writer's connection, after the commit.
private func walHook(_ context: UnsafeMutableRawPointer?, _: OpaquePointer?, _: UnsafePointer<CChar>?, _ frames: Int32)
    -> Int32
{
    guard let context else { return SQLITE_OK }
    Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue().committed(walFrames: frames)
    return SQLITE_OK
}

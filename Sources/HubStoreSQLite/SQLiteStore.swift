import Foundation
import GRDB
import HubCore
import HubStore

/// The embedded store: one SQLite file in WAL mode with `synchronous=FULL`, so
/// every commit is fsynced before a write returns.
///
/// Several processes may open the same file at once: writes take the write lock
/// up front (`BEGIN IMMEDIATE`) and wait for it up to ``busyTimeout``. Within a
/// process, concurrent writes share commits (see ``GroupCommitter``); a pooled store
/// copies the WAL into the database file on a thread of its own (``WALCheckpointer``).
public final class SQLiteStore: Store {
    /// How long a write waits for another process's write lock. Defaults to 30 seconds.
    public static let busyTimeout: TimeInterval = 30

    let writer: any DatabaseWriter
    private let committer: GroupCommitter
    /// A serving (pooled) store's checkpoints, off the writer; nil for one-shot commands,
    /// whose rare checkpoint SQLite runs in the commit as usual.
    let checkpointer: WALCheckpointer?
    /// The database file.
    public let path: String

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// - Parameter pooled: `true` opens a pool of reader connections beside the
    ///   writer (for servers); `false` opens a single connection (for one-shot commands).
    public convenience init(path: String, pooled: Bool = false) throws {
        try self.init(path: path, pooled: pooled, checkpointThreshold: 1_000)
    }

    /// `checkpointThreshold`: the WAL's size in frames past which a pooled store checkpoints.
    init(path: String, pooled: Bool, checkpointThreshold: Int32) throws {
        self.path = path
        var config = GRDB.Configuration()
        config.busyMode = .timeout(Self.busyTimeout)
        // A pool sets WAL up through GRDB. The single connection sets it up itself:
        // GRDB's WAL setup also commits a throwaway CREATE/DROP TABLE whenever the
        // WAL file is missing (each time a process opens the store, since the last
        // one to close removes it): two fsyncs, a schema change and a checkpoint
        // at close, for every one-shot command, reads included.
        config.journalMode = pooled ? .wal : .default
        config.foreignKeysEnabled = true
        config.prepareDatabase { db in
            if !pooled {
                // Processes opening a new file at once contend for the switch to WAL; SQLite
                // can answer SQLITE_BUSY there without waiting through the busy handler.
                let mode = try SQLiteStore.retryingWhileBusy {
                    try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
                }
                guard mode == "wal" else {
                    throw DatabaseError(message: "could not turn on WAL mode (journal_mode is \(mode ?? "unknown"))")
                }
            }
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Each operation of a shared commit runs in a savepoint, whose journal of the
            // pages it changes SQLite keeps in memory only up to 64 KiB and then writes to
            // a temporary file: a claim changes about 25 pages, so every operation paid
            // for file writes nobody reads. In memory they stay in memory.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        do {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            writer =
                pooled
                ? try DatabasePool(path: path, configuration: config)
                : try DatabaseQueue(path: path, configuration: config)
            // GRDB's WAL setup runs after `prepareDatabase` and sets `synchronous = NORMAL`
            // (no fsync at commit), so FULL is set again on the connection that writes.
            try writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            let opened = writer
            try Self.retryingWhileBusy { try Self.migrate(opened) }
            if pooled {
                let checkpointer = try WALCheckpointer(path: path, threshold: checkpointThreshold)
                writer.writeWithoutTransaction { db in checkpointer.install(on: db) }
                self.checkpointer = checkpointer
            } else {
                checkpointer = nil
            }
            committer = GroupCommitter(checkpointer: checkpointer)
        } catch {
            throw HubError(
                .storeUnavailable, "Cannot open the store at \(path): \(Self.describe(error))",
                details: "Check that the state directory is writable and the file is a coordination-hub database.",
                suggestions: ["Pass another --state-dir", "Check the permissions of \(path)"])
        }
    }

    /// An empty store in memory with the schema up to date, whose file is nowhere: what a
    /// read answers from when no store exists yet, without creating one on disk.
    public init(emptyInMemory: Void) throws {
        path = ":memory:"
        var config = GRDB.Configuration()
        config.foreignKeysEnabled = true
        do {
            let queue = try DatabaseQueue(configuration: config)
            try Self.migrate(queue)
            writer = queue
        } catch {
            throw HubError(.storeUnavailable, "Cannot open an empty store in memory: \(Self.describe(error))")
        }
        checkpointer = nil
        committer = GroupCommitter(checkpointer: nil)
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        do {
            // GRDB's `read` brackets the body with `PRAGMA query_only = 1/0` on the single
            // connection, and every such pragma expires all prepared statements, so each
            // later statement is compiled again; and it compiles BEGIN and COMMIT anew on
            // every read. A deferred transaction through the statement cache, always rolled
            // back, gives the same snapshot and discards any change, without those costs.
            let run: @Sendable (Database) throws -> T = { db in
                try db.executeCached("BEGIN DEFERRED TRANSACTION")
                do {
                    let value = try body(SQLiteTransaction(db: db))
                    try db.rollbackIfOpen()
                    return value
                } catch {
                    try? db.rollbackIfOpen()
                    throw error
                }
            }
            if let pool = writer as? DatabasePool { return try await pool.unsafeRead(run) }
            return try await writer.unsafeRead(run)
        } catch let error as HubError {
            throw error
        } catch {
            throw Self.unavailable(error)
        }
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T {
        try await committer.submit(body, to: writer)
    }

    public func observeCommits(_ observer: (any CommitObserver)?) { committer.observe(observer) }

    public func close() async throws {
        do {
            if let checkpointer {
                try await writer.writeWithoutTransaction { db in checkpointer.uninstall(from: db) }
                await checkpointer.close()
            }
            if writer is DatabasePool {
                // The pool closes its writer before its (read-only) readers, so no connection of
                // it can fold the WAL into the database as a last connection does: the server left
                // a database file of one page and its whole content in the WAL. Folded here, and
                // the WAL emptied; what cannot be (another process reading) stays for later.
                _ = try? await writer.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                }
            }
            if let queue = writer as? DatabaseQueue { try queue.close() }
            if let pool = writer as? DatabasePool { try pool.close() }
        } catch {
            throw Self.unavailable(error)
        }
    }

    /// Brings the schema up to date. Two processes opening a new file at once may
    /// both see it unmigrated; the loser's migration fails inside its transaction and
    /// changes nothing, so it reads the applied steps again and goes on.
    private static func migrate(_ writer: any DatabaseWriter) throws {
        let migrator = SQLiteMigrations.migrator()
        var attempt = 0
        while true {
            do {
                try migrator.migrate(writer)
                return
            } catch {
                attempt += 1
                if try writer.read({ try migrator.hasCompletedMigrations($0) }) { return }
                if attempt >= 3 { throw error }
            }
        }
    }

    /// Runs `body` again while it fails with SQLITE_BUSY ("database is locked"), for up to
    /// `timeout` seconds, waiting a little longer each time (1 ms doubling to 50 ms). For the
    /// steps of opening a store that SQLite does not retry through the busy handler itself:
    /// the switch to WAL, and a migration whose read snapshot another process's commit made
    /// stale (`SQLITE_BUSY_SNAPSHOT`). Other errors are thrown at once.
    static func retryingWhileBusy<T>(timeout: TimeInterval = busyTimeout, _ body: () throws -> T) throws -> T {
        let deadline = Date().addingTimeInterval(timeout)
        var delay: UInt32 = 1_000
        while true {
            do {
                return try body()
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && Date() < deadline {
                usleep(delay)
                delay = min(delay * 2, 50_000)
            }
        }
    }

    static func describe(_ error: any Error) -> String {
        if let db = error as? DatabaseError { return db.message ?? db.description }
        return "\(error)"
    }

    static func unavailable(_ error: any Error) -> HubError {
        HubError(
            .storeUnavailable, "The store failed: \(describe(error))",
            details: "Nothing was changed; try again, and check the disk and the state directory.",
            suggestions: ["Retry the operation", "Check free disk space and permissions of the state directory"])
    }
}

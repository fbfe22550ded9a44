import GRDB
import HubCore
import HubStore
import Synchronization

/// Runs the write bodies of concurrent callers in shared transactions, so that
/// one fsync acknowledges many changes (group commit).
///
/// Each caller queues its body and asks the database writer for a turn. The writer
/// serializes turns; a turn takes every body queued so far and runs them in one
/// `BEGIN IMMEDIATE` transaction, each inside its own savepoint so that a body that
/// throws rolls back alone. Every caller of a turn is answered as soon as that turn
/// has committed — not when its own turn comes, which may be the next one: a caller
/// whose body an earlier turn ran would otherwise wait for a whole further turn of
/// other callers' bodies and its commit, and concurrent callers fell into a lockstep
/// of all writing, then all answering, with the CPU half idle (docs/PERFORMANCE.md).
final class GroupCommitter: Sendable {
    private let queue = Mutex<[any PendingWrite]>([])
    private let observer = Mutex<(any CommitObserver)?>(nil)
    /// The writer's rows of the hot tables; only turns (on the writer's thread) touch it.
    private let cache = RowCache()
    /// Checkpoints the WAL off the writer, if the store has one.
    private let checkpointer: WALCheckpointer?

    init(checkpointer: WALCheckpointer? = nil) { self.checkpointer = checkpointer }

    /// Tells `observer` the events of each later commit (see ``Store/observeCommits(_:)``).
    func observe(_ observer: (any CommitObserver)?) { self.observer.withLock { $0 = observer } }

    func submit<T: Sendable>(
        _ body: @escaping @Sendable (any StoreWriter) throws -> T, to writer: any DatabaseWriter
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.withLock { $0.append(Pending(body, continuation)) }
            // This caller's turn; an earlier turn may already have taken its body.
            writer.asyncWriteWithoutTransaction { db in self.drain(db) }
        }
    }

    private func drain(_ db: Database) {
        let batch = queue.withLock { pending in
            let taken = pending
            pending.removeAll(keepingCapacity: true)
            return taken
        }
        guard !batch.isEmpty else { return }
        run(batch, db)
        for item in batch { item.answer() }
    }

    /// Runs and commits `batch`, leaving each item's outcome in it; throws nothing: a
    /// failure is that item's outcome, or every item's when the commit fails. (Internal,
    /// not private: tests run a batch of their choosing through it.)
    func run(_ batch: [any PendingWrite], _ db: Database) {
        let observer = observer.withLock { $0 }.flatMap { $0.wantsCommits ? $0 : nil }
        // The events the turn appends, only when someone is told of them.
        let appended = observer == nil ? nil : AppendedEvents()
        let tx = SQLiteTransaction(db: db, appended: appended, cache: cache)
        checkpointer?.finish(on: db)
        do {
            try db.executeCached("BEGIN IMMEDIATE TRANSACTION")
            try cache.beginTurn(db)
            if batch.count == 1 {
                // A lone body needs no savepoint: its failure rolls back the whole transaction.
                do {
                    try batch[0].run(tx)
                } catch {
                    batch[0].fail(error)
                    cache.clear()
                    try db.rollbackIfOpen()
                    return
                }
            } else {
                for item in batch {
                    try db.executeCached("SAVEPOINT item")
                    let appendedBefore = appended?.events.count ?? 0
                    do {
                        try item.run(tx)
                        try db.executeCached("RELEASE SAVEPOINT item")
                    } catch {
                        item.fail(error)
                        cache.clear()
                        // An I/O error may have rolled the whole transaction back: then nothing
                        // of the batch survives, which the commit below reports to everyone.
                        guard db.isInsideTransaction else { throw error }
                        try db.executeCached("ROLLBACK TO SAVEPOINT item")
                        try db.executeCached("RELEASE SAVEPOINT item")
                        // Its events were rolled back with it (and their sequences will be taken again).
                        appended?.events.removeSubrange(appendedBefore...)
                    }
                }
            }
            try db.executeCached("COMMIT TRANSACTION")
            // Durable now; told before the callers are answered, on the writer, so in commit order.
            if let observer, let events = appended?.events, !events.isEmpty { observer.committed(events) }
        } catch {
            // The transaction or its commit failed: nothing of the batch is on disk.
            cache.clear()
            try? db.rollbackIfOpen()
            let failure = SQLiteStore.unavailable(error)
            for item in batch { item.failIfSucceeded(failure) }
        }
    }
}

extension Database {
    /// Runs a statement without parameters through the connection's statement cache.
    /// Transaction control runs several times per operation; compiling it each time,
    /// as `Database.inTransaction` and `inSavepoint` do, was a visible share of a write.
    func executeCached(_ sql: String) throws { try cachedStatement(sql: sql).execute() }

    /// Rolls back the open transaction, if SQLite has not already done so.
    func rollbackIfOpen() throws {
        if isInsideTransaction { try executeCached("ROLLBACK TRANSACTION") }
    }
}

protocol PendingWrite: Sendable {
    func run(_ tx: SQLiteTransaction) throws
    func fail(_ error: any Error)
    func failIfSucceeded(_ error: any Error)
    /// Resumes the caller with the outcome; called once, after the turn has ended.
    func answer()
}

private final class Pending<T: Sendable>: PendingWrite {
    private let body: @Sendable (any StoreWriter) throws -> T
    private let continuation: CheckedContinuation<T, any Error>
    private let result = Mutex<Result<T, any Error>?>(nil)

    init(_ body: @escaping @Sendable (any StoreWriter) throws -> T, _ continuation: CheckedContinuation<T, any Error>) {
        self.body = body
        self.continuation = continuation
    }

    func run(_ tx: SQLiteTransaction) throws {
        let value = try body(tx)
        result.withLock { $0 = .success(value) }
    }

    func fail(_ error: any Error) {
        let mapped: any Error = error is HubError ? error : SQLiteStore.unavailable(error)
        result.withLock { $0 = .failure(mapped) }
    }

    func failIfSucceeded(_ error: any Error) {
        result.withLock { current in
            if case .success = current { current = .failure(error) }
            if current == nil { current = .failure(error) }
        }
    }

    func answer() {
        switch result.withLock({ $0 }) {
        case .success(let value)?: continuation.resume(returning: value)
        case .failure(let error)?: continuation.resume(throwing: error)
        case nil: continuation.resume(throwing: HubError.internal("a write was queued but never ran"))
        }
    }
}

/// The events a write turn appended, in order. Only the writer's thread touches it,
/// during the turn that made it.
final class AppendedEvents: @unchecked Sendable {
    var events: [HubEvent] = []
}

import GRDB
import HubCore
import HubStore
import Synchronization

/// Runs the write bodies of concurrent callers in shared transactions, so that
/// one fsync acknowledges many changes (group commit).
///
/// Each caller queues its body and then asks the database writer for a turn. The
/// writer serializes turns; a turn takes every body queued so far and runs them
/// in one `BEGIN IMMEDIATE` transaction, each inside its own savepoint so that a
/// body that throws rolls back alone. When a caller's turn ends its body has run
/// and been committed, by its own turn or an earlier one.
final class GroupCommitter: Sendable {
    private let queue = Mutex<[any PendingWrite]>([])

    func submit<T: Sendable>(
        _ body: @escaping @Sendable (any StoreWriter) throws -> T, to writer: any DatabaseWriter
    ) async throws -> T {
        let item = Pending(body)
        queue.withLock { $0.append(item) }
        do {
            try await writer.writeWithoutTransaction { db in try self.drain(db) }
        } catch {
            item.fail(SQLiteStore.unavailable(error))
        }
        return try item.outcome()
    }

    private func drain(_ db: Database) throws {
        let batch = queue.withLock { pending in
            let taken = pending
            pending.removeAll(keepingCapacity: true)
            return taken
        }
        guard !batch.isEmpty else { return }
        let tx = SQLiteTransaction(db: db)
        do {
            try db.inTransaction(.immediate) {
                if batch.count == 1 {
                    // A lone body needs no savepoint: its failure rolls back the whole transaction.
                    do {
                        try batch[0].run(tx)
                    } catch {
                        batch[0].fail(error)
                        return .rollback
                    }
                } else {
                    for item in batch {
                        do {
                            try db.inSavepoint {
                                try item.run(tx)
                                return .commit
                            }
                        } catch {
                            item.fail(error)
                        }
                    }
                }
                return .commit
            }
        } catch {
            // The commit itself failed: nothing of the batch is on disk.
            let failure = SQLiteStore.unavailable(error)
            for item in batch { item.failIfSucceeded(failure) }
        }
    }
}

protocol PendingWrite: Sendable {
    func run(_ tx: SQLiteTransaction) throws
    func fail(_ error: any Error)
    func failIfSucceeded(_ error: any Error)
}

private final class Pending<T: Sendable>: PendingWrite {
    private let body: @Sendable (any StoreWriter) throws -> T
    private let result = Mutex<Result<T, any Error>?>(nil)

    init(_ body: @escaping @Sendable (any StoreWriter) throws -> T) { self.body = body }

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

    func outcome() throws -> T {
        switch result.withLock({ $0 }) {
        case .success(let value)?: return value
        case .failure(let error)?: throw error
        case nil: throw HubError.internal("a write was queued but never ran")
        }
    }
}

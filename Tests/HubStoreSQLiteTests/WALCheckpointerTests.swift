import Foundation
import GRDBSQLite
import HubCore
import HubStore
import HubTesting
import Testing

@testable import HubStoreSQLite

/// A serving store checkpoints its WAL on the checkpointer's connection, not in a commit,
/// and the WAL still starts over once its frames are in the database file.
@Suite struct WALCheckpointerTests {
    static let threshold: Int32 = 16

    static func openStore(_ directory: TemporaryDirectory) throws -> (SQLiteStore, WALCheckpointer) {
        let store = try SQLiteStore(path: directory.path + "/hub.sqlite", pooled: true, checkpointThreshold: threshold)
        guard let checkpointer = store.checkpointer else {
            throw HubError.internal("a pooled store has a checkpointer")
        }
        return (store, checkpointer)
    }

    static func append(_ store: SQLiteStore, _ n: Int) async throws {
        let draft = EventDraft(
            eventType: "test_write", workflowID: nil, phase: 0, data: ["n": .int(Int64(n))], subject: "s")
        _ = try await store.write { tx in try tx.append(draft, eventID: "e\(n)", timestamp: Int64(n)) }
    }

    /// Appends events numbered from `n` until a commit leaves the WAL at the threshold or
    /// past it (and so asks for a checkpoint); returns the next number.
    static func appendPastThreshold(_ store: SQLiteStore, _ checkpointer: WALCheckpointer, from n: Int) async throws
        -> Int
    {
        var n = n
        while checkpointer.walFrames < threshold {
            try await append(store, n)
            n += 1
        }
        return n
    }

    /// The outcomes of the checkpointer's checkpoints, in order.
    static func outcomes(of checkpointer: WALCheckpointer) -> AsyncStream<WALCheckpointer.Outcome> {
        let (stream, continuation) = AsyncStream.makeStream(of: WALCheckpointer.Outcome.self)
        checkpointer.observe { continuation.yield($0) }
        return stream
    }

    /// Found by session 18's probe: a server stopped gracefully left its store as a database
    /// file of one page and the rest in the WAL (the pool's writer closes before its readers,
    /// so none of them folds the WAL in, as the last connection does).
    @Test func closingFoldsTheWALIntoTheDatabase() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (store, checkpointer) = try Self.openStore(directory)
        checkpointer.suspend(true)
        for n in 0..<50 { try await Self.append(store, n) }
        // A reader connection open, as a server's always are.
        #expect(try await store.read { tx in try tx.lastEventSequence() } == 50)
        let wal = directory.path + "/hub.sqlite-wal"
        let size = { (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0 }
        #expect(size() > 0)

        try await store.close()

        #expect(size() == 0)
        let reopened = try SQLiteStore(path: directory.path + "/hub.sqlite")
        #expect(try await reopened.read { tx in try tx.lastEventSequence() } == 50)
        try await reopened.close()
    }

    @Test func theWritersCommitsDoNotCheckpoint() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (store, checkpointer) = try Self.openStore(directory)
        checkpointer.suspend(true)
        // SQLite's own checkpoint in a commit would copy the WAL and start it over: the
        // frames the WAL holds would fall back. With the checkpointer suspended they only grow.
        var frames: [Int32] = []
        for n in 0..<400 where (frames.last ?? 0) < 4 * Self.threshold {
            try await Self.append(store, n)
            frames.append(checkpointer.walFrames)
        }
        #expect((frames.last ?? 0) >= 4 * Self.threshold)
        #expect(frames == frames.sorted())
        try await store.close()
    }

    @Test func aCheckpointCopiesTheWALAndTheWriterStartsItOver() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (store, checkpointer) = try Self.openStore(directory)
        var outcomes = Self.outcomes(of: checkpointer).makeAsyncIterator()
        let n = try await Self.appendPastThreshold(store, checkpointer, from: 0)
        let outcome = try #require(await outcomes.next())
        #expect(outcome.code == SQLITE_OK)
        #expect(outcome.copiedFrames == outcome.walFrames)
        #expect(outcome.walFrames >= Self.threshold)
        let before = checkpointer.walFrames
        try await Self.append(store, n)
        #expect(checkpointer.walFrames < before)
        #expect(try await store.read { try $0.events(EventQuery(limit: 1_000)).count } == n + 1)
        try await store.close()
    }

    /// A reader on an old snapshot keeps a checkpoint from copying the frames after it, as
    /// the writer's commits during a checkpoint do under load; the writer copies them itself
    /// before its next turn, or the WAL would never start over.
    @Test func theWriterCopiesWhatACheckpointLeftSoTheWALStartsOver() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (store, checkpointer) = try Self.openStore(directory)
        var outcomes = Self.outcomes(of: checkpointer).makeAsyncIterator()
        // The new store's migrations already put the WAL past the threshold: the first
        // commit asks for a checkpoint, and the next one starts the WAL over.
        try await Self.append(store, 0)
        _ = await outcomes.next()
        try await Self.append(store, 1)
        #expect(checkpointer.walFrames < Self.threshold)
        var reader: OpaquePointer?
        #expect(sqlite3_open_v2(directory.path + "/hub.sqlite", &reader, SQLITE_OPEN_READONLY, nil) == SQLITE_OK)
        defer { sqlite3_close_v2(reader) }
        #expect(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM events;", nil, nil, nil) == SQLITE_OK)
        let n = try await Self.appendPastThreshold(store, checkpointer, from: 2)
        let outcome = try #require(await outcomes.next())
        #expect(outcome.code == SQLITE_OK)
        #expect(outcome.copiedFrames < outcome.walFrames)
        #expect(sqlite3_exec(reader, "COMMIT", nil, nil, nil) == SQLITE_OK)
        let before = checkpointer.walFrames
        try await Self.append(store, n)
        #expect(checkpointer.walFrames < before)
        try await store.close()
    }
}

import Foundation
import GRDB
import HubTesting
import Testing

@testable import HubStoreSQLite

/// The settings a commit's durability and cost depend on, as the writing connection
/// has them (GRDB's own setup runs after ours and changes some of them).
@Suite struct ConnectionSettingsTests {
    @Test(arguments: [false, true])
    func theWritingConnectionFsyncsEveryCommitAndKeepsSavepointJournalsInMemory(pooled: Bool) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try SQLiteStore(path: directory.path + "/hub.sqlite", pooled: pooled)
        let settings = try await store.writer.write { db in
            [
                try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                try String.fetchOne(db, sql: "PRAGMA synchronous"),
                try String.fetchOne(db, sql: "PRAGMA temp_store"),
            ]
        }
        try await store.close()
        // WAL; synchronous FULL (2): every commit fsynced; temp_store MEMORY (2).
        #expect(settings == ["wal", "2", "2"])
    }
}

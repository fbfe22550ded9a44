import Foundation
import GRDB
import HubStore
import HubTesting
import Testing

@testable import HubStoreSQLite

/// Migrations keep what a store already holds.
@Suite struct MigrationTests {
    @Test func checkpointContentsSurviveTheirTableBeingRebuilt() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/hub.sqlite"
        let sha = String(repeating: "ab", count: 32)
        do {
            // A store as migration 8 left it, holding one file's contents.
            let queue = try DatabaseQueue(path: path)
            try SQLiteMigrations.migrator().migrate(queue, upTo: MigrationHistory.identifier((8, "agent_tokens")))
            try await queue.write { db in
                try db.execute(
                    sql: "INSERT INTO checkpoint_contents (sha256, size, bytes) VALUES (?, 3, ?)",
                    arguments: [sha, Data([1, 2, 3])])
            }
            try queue.close()
        }
        let store = try SQLiteStore(path: path)
        let bytes = try await store.read { tx in try tx.contents(sha256: sha) }
        #expect(bytes == [1, 2, 3])
        #expect(
            try await store.read { tx in try tx.storedContents([sha, String(repeating: "cd", count: 32)]) } == [sha])
        try await store.close()
    }

    /// Migration 17 adds the runner holding an agent id: an agent registered before it is held
    /// by no runner (so the first runner to register takes it) and keeps everything else.
    @Test func agentsRegisteredBeforeRunnerIDsAreHeldByNoRunner() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/hub.sqlite"
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteMigrations.migrator().migrate(
                queue, upTo: MigrationHistory.identifier((16, "lease_lingering_holds")))
            try await queue.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO agents (agent_id, specializations, max_concurrent_tasks, preferred_task_types,
                          status, registered_at, last_heartbeat, current_load, record)
                        VALUES ('old_agent', '["code"]', 2, '[]', 'available', 1, 2, 0, '{}')
                        """)
            }
            try queue.close()
        }
        let store = try SQLiteStore(path: path)
        let agent = try await store.read { tx in try tx.agent("old_agent") }
        #expect(agent?.runnerID == nil)
        #expect(agent?.specializations == ["code"])
        #expect(agent?.maxConcurrentTasks == 2)
        #expect(agent?.lastHeartbeat == 2)
        try await store.close()
    }
}

import Foundation
import HubCore
import HubStore
import HubTesting
import Synchronization
import Testing

@testable import HubStoreSQLite

/// The writer's row cache holds what the database holds: a rolled-back write, in a shared
/// turn or alone, leaves nothing of itself in it, and another connection's commit is seen.
/// (Debug builds also check every row the cache returns against the database.)
@Suite struct RowCacheTests {
    static let refused = HubError.parameter("n", "refused by the test")

    /// One write of a turn that the test composes itself.
    final class Item: PendingWrite, @unchecked Sendable {
        let body: (SQLiteTransaction) throws -> Void
        var failed = false
        init(_ body: @escaping (SQLiteTransaction) throws -> Void) { self.body = body }
        func run(_ tx: SQLiteTransaction) throws { try body(tx) }
        func fail(_ error: any Error) { failed = true }
        func failIfSucceeded(_ error: any Error) { failed = true }
        func answer() {}
    }

    /// Reads agent `a`, adds one to its load and saves it; returns the load it read.
    static func addLoad(_ tx: any StoreWriter) throws -> Int {
        guard var agent = try tx.agent("a") else { throw HubError.internal("agent a is missing") }
        let read = agent.currentLoad
        agent.currentLoad += 1
        try tx.save(agent)
        return read
    }

    static func openStore(_ directory: TemporaryDirectory, pooled: Bool = false) async throws -> SQLiteStore {
        let store = try SQLiteStore(path: directory.path + "/hub.sqlite", pooled: pooled)
        try await store.write { tx in
            if try tx.agent("a") == nil { try tx.save(Agent(agentID: "a", maxConcurrentTasks: 100, registeredAt: 1)) }
        }
        return store
    }

    @Test func aSavepointRolledBackInASharedTurnLeavesNothingOfItsWritesInTheCache() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Self.openStore(directory)
        let committer = GroupCommitter()
        let seenByLast = Mutex<Int?>(nil)
        let batch = [
            Item { tx in _ = try Self.addLoad(tx) },
            Item { tx in
                _ = try Self.addLoad(tx)
                throw Self.refused
            },
            Item { tx in
                let read = try Self.addLoad(tx)
                seenByLast.withLock { $0 = read }
            },
        ]
        try await store.writer.writeWithoutTransaction { db in committer.run(batch, db) }
        #expect(batch.map(\.failed) == [false, true, false])
        #expect(seenByLast.withLock { $0 } == 1)
        let stored = try await store.read { tx in try tx.agent("a")?.currentLoad }
        #expect(stored == 2)
        try await store.close()
    }

    @Test func aLoneWriteThatFailsLeavesNothingOfItselfInTheCache() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Self.openStore(directory)
        await #expect(throws: HubError.self) {
            try await store.write { tx in
                _ = try Self.addLoad(tx)
                throw Self.refused
            }
        }
        let read = try await store.write { tx in try Self.addLoad(tx) }
        #expect(read == 0)
        try await store.close()
    }

    @Test(arguments: [false, true])
    func aCommitOfAnotherConnectionIsSeenByTheNextTurn(pooled: Bool) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try await Self.openStore(directory, pooled: pooled)
        let second = try await Self.openStore(directory)
        // The first store's writer reads (and caches) the agent, then the other one changes it.
        #expect(try await first.write { tx in try Self.addLoad(tx) } == 0)
        #expect(try await second.write { tx in try Self.addLoad(tx) } == 1)
        #expect(try await first.write { tx in try Self.addLoad(tx) } == 2)
        let stored = try await second.read { tx in try tx.agent("a")?.currentLoad }
        #expect(stored == 3)
        try await first.close()
        try await second.close()
    }

    @Test func aFullTableIsForgottenBeforeItGrowsFurther() {
        let cache = RowCache()
        for n in 0..<RowCache.capacity {
            cache.keep(
                Lease(leaseID: "lease_\(n)", workflowID: "w", taskID: "t\(n)", agentID: "a", claimedAt: 1, expiresAt: 2)
            )
        }
        #expect(cache.lease("lease_0") != nil)
        cache.keep(Lease(leaseID: "lease_new", workflowID: "w", taskID: "t", agentID: "a", claimedAt: 1, expiresAt: 2))
        #expect(cache.lease("lease_0") == nil)
        #expect(cache.lease("lease_new") != nil)
    }
}

import Foundation
import HubCore
import HubStore
import HubTesting
import Synchronization
import Testing

@testable import HubStoreSQLite

/// The store tells its commit observer exactly the events that became durable, in
/// sequence order: none of a write that failed (its savepoint rolled back), none twice.
@Suite struct CommitObserverTests {
    final class Recorder: CommitObserver {
        let commits = Mutex<[[HubEvent]]>([])
        var wantsCommits: Bool { true }
        func committed(_ events: [HubEvent]) { commits.withLock { $0.append(events) } }
    }

    /// What a refused write throws (the store passes a HubError through as it is).
    static let refused = HubError.parameter("n", "refused by the test")

    @Test(arguments: [false, true])
    func theObserverLearnsEveryCommittedEventAndNoneOfAFailedWrite(pooled: Bool) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try SQLiteStore(path: directory.path + "/hub.sqlite", pooled: pooled)
        let recorder = Recorder()
        store.observeCommits(recorder)
        // Concurrent writers share commits; every third appends its events and then fails.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<30 {
                group.addTask {
                    do {
                        _ = try await store.write { tx in
                            let appended = try tx.append(
                                (0..<3).map { k in
                                    EventToAppend(
                                        draft: .agent("note", "a\(n)", data: ["k": .int(Int64(k))]),
                                        eventID: "evt_\(n)_\(k)", serializedData: "{\"k\":\(k)}")
                                }, timestamp: 1)
                            if n % 3 == 0 { throw Self.refused }
                            return appended
                        }
                    } catch let error as HubError where error.message == Self.refused.message {}
                }
            }
            try await group.waitForAll()
        }
        let stored = try await store.read { tx in try tx.events(EventQuery(limit: 1000)) }
        let observed = recorder.commits.withLock { $0 }
        #expect(observed.allSatisfy { !$0.isEmpty })
        #expect(observed.flatMap { $0 } == stored)
        #expect(stored.count == 20 * 3)
        #expect(!stored.contains { $0.eventID.hasPrefix("evt_0_") || $0.eventID.hasPrefix("evt_3_") })
        // A lone write that fails is not reported either.
        await #expect(throws: HubError.self) {
            try await store.write { tx in
                _ = try tx.append(.agent("note", "alone"), eventID: "evt_alone", timestamp: 2)
                throw Self.refused
            }
        }
        #expect(recorder.commits.withLock { $0.count } == observed.count)
        try await store.close()
    }
}

import Foundation
import HubCore
import HubStore
import HubStoreSQLite
import HubTesting
import Testing

@Suite struct SQLiteConformanceTests {
    @Test(arguments: StoreConformance.cases.map(\.name))
    func conformance(_ name: String) async throws {
        let directory = try TemporaryDirectory("conformance")
        defer { directory.remove() }
        let store = try SQLiteStore(path: directory.file("hub.sqlite"))
        let run = try #require(StoreConformance.cases.first { $0.name == name }?.run)
        try await run(store)
        try await store.close()
    }

    @Test func pooledStorePassesConformanceToo() async throws {
        let directory = try TemporaryDirectory("conformance-pool")
        defer { directory.remove() }
        let store = try SQLiteStore(path: directory.file("hub.sqlite"), pooled: true)
        for item in StoreConformance.cases { try await item.run(store) }
        try await store.close()
    }

    @Test func reopeningKeepsCommittedChanges() async throws {
        let directory = try TemporaryDirectory("reopen")
        defer { directory.remove() }
        let first = try SQLiteStore(path: directory.file("hub.sqlite"))
        let run = try #require(StoreConformance.cases.first?.run)
        try await run(first)
        try await first.close()
        let second = try SQLiteStore(path: directory.file("hub.sqlite"))
        let found = try await second.read { tx in try tx.workflow("conf_read") }
        #expect(found?.name == "Sample conf_read")
    }

    @Test func aFileThatIsNotADatabaseIsStoreUnavailable() throws {
        let directory = try TemporaryDirectory("garbage")
        defer { directory.remove() }
        try "not a database, just text that is long enough to be read as a header".write(
            toFile: directory.file("hub.sqlite"), atomically: true, encoding: .utf8)
        #expect(throws: HubError.self) { try SQLiteStore(path: directory.file("hub.sqlite")) }
    }
}

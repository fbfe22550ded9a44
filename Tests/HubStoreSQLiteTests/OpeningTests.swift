import Foundation
import GRDB
import HubTesting
import Synchronization
import Testing

@testable import HubStoreSQLite

/// Opening a store while other processes open it too: the steps SQLite answers with
/// SQLITE_BUSY without waiting are tried again, and nothing else is.
@Suite struct OpeningTests {
    @Test func aBusyStepIsTriedAgainUntilItSucceeds() throws {
        let attempts = Mutex(0)
        let value = try SQLiteStore.retryingWhileBusy {
            let n = attempts.withLock { n in
                n += 1
                return n
            }
            if n < 3 { throw DatabaseError(resultCode: .SQLITE_BUSY, message: "database is locked") }
            return n
        }
        #expect(value == 3)
    }

    @Test func anotherErrorIsThrownAtOnce() {
        let attempts = Mutex(0)
        #expect(throws: DatabaseError.self) {
            try SQLiteStore.retryingWhileBusy {
                attempts.withLock { $0 += 1 }
                throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "malformed")
            }
        }
        #expect(attempts.withLock { $0 } == 1)
    }

    @Test func aLockHeldPastTheTimeoutIsReported() {
        #expect(throws: DatabaseError.self) {
            try SQLiteStore.retryingWhileBusy(timeout: 0) {
                throw DatabaseError(resultCode: .SQLITE_BUSY, message: "database is locked")
            }
        }
    }

    /// Many connections opening one new file together (each a one-shot command's store):
    /// every one opens, and the schema is there once.
    @Test func connectionsOpeningANewFileTogetherAllOpen() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for round in 0..<5 {
            let path = directory.path + "/hub\(round).sqlite"
            let opened = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        guard let store = try? SQLiteStore(path: path) else { return false }
                        try? await store.close()
                        return true
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(opened == 12)
        }
    }
}

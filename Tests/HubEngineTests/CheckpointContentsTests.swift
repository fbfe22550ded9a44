import Foundation
import HubCore
import HubStore
import HubTesting
import Testing

@testable import HubEngine

/// A checkpoint is valid only when the stored contents of its files still hash to their
/// SHA-256: listing, verify-state and restore's choice all count damaged contents as corruption.
@Suite struct CheckpointContentsTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    var file: String { t.directory.file("f.txt") }

    /// Two checkpoints of f.txt ("one", then "two"); the newer one's stored contents are then
    /// replaced by other bytes under the same SHA-256, as a damaged disk would leave them.
    func twoCheckpointsTheNewerDamaged() async throws -> (old: String, new: String) {
        try Data("one".utf8).write(to: URL(fileURLWithPath: file))
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let old = try #require(
            await t.run("w1", "checkpoint", #"{"name": "old", "include_files": ["f.txt"]}"#)
                .result["checkpoint_id"]?.stringValue)
        try Data("two".utf8).write(to: URL(fileURLWithPath: file))
        let new = try #require(
            await t.run("w1", "checkpoint", #"{"name": "new", "include_files": ["f.txt"]}"#)
                .result["checkpoint_id"]?.stringValue)
        let two = Checksum.sha256(Array("two".utf8))
        try await t.hub.store.write { tx in
            guard let c = try tx.checkpoint(id: new) else { return }
            let stamps = try tx.fileStamps(checkpointID: new)
            try tx.removeCheckpoints([new])
            _ = try tx.removeUnreferencedContents()
            try tx.storeContents(sha256: two, bytes: Array("tw0".utf8))
            try tx.insert(c, files: stamps)
        }
        try Data("three".utf8).write(to: URL(fileURLWithPath: file))
        return (old, new)
    }

    /// save-state's export is faithful (§6): it said valid for a checkpoint whose contents are damaged.
    @Test func theExportSaysAsTheListDoesWhichCheckpointIsWhole() async throws {
        let (_, _) = try await twoCheckpointsTheNewerDamaged()
        let saved = await t.run("w1", "save-state")
        #expect(saved.succeeded, "\(saved.json)")
        func exported(_ name: String) throws -> JSONValue {
            let path = t.directory.file("state/checkpoints/w1/\(name).json")
            return try JSONParser.parse(bytes: [UInt8](try #require(FileManager.default.contents(atPath: path))))
        }
        #expect(try exported("new")["valid"] == false)
        #expect(try exported("latest")["valid"] == false)
        #expect(try exported("old")["valid"] == true)
    }

    @Test func damagedContentsMakeACheckpointInvalidInTheListAndInVerifyState() async throws {
        let (old, new) = try await twoCheckpointsTheNewerDamaged()
        let listed = await t.run("w1", "list-checkpoints").result
        #expect(listed["checkpoints"]?.arrayValue?.map { $0["valid"] } == [false, true])
        #expect(listed["newest_valid_checkpoint"] == .string(old))
        let verified = await t.run("w1", "verify-state", #"{"checkpoints": true}"#).result["checkpoints"]
        #expect(verified?["corrupt"] == .strings([new]))
        #expect(verified?["newest_valid_checkpoint"] == .string(old))
    }

    @Test func restoringTheLatestFallsBackPastDamagedContents() async throws {
        let (old, new) = try await twoCheckpointsTheNewerDamaged()
        let restored = await t.run("w1", "restore", #"{"latest": true}"#)
        #expect(restored.succeeded, "\(restored.json)")
        #expect(restored.result["fallback_used"] == true)
        #expect(restored.result["used_checkpoint"] == .string(old))
        #expect(restored.result["skipped_corrupt"] == .strings([new]))
        #expect(FileManager.default.contents(atPath: file) == Data("one".utf8))
    }

    @Test func aDamagedCheckpointNamedByIdIsRefusedNamingTheGoodOne() async throws {
        let (old, new) = try await twoCheckpointsTheNewerDamaged()
        let refused = await t.run("w1", "restore", "{\"checkpoint_id\": \"\(new)\"}")
        #expect(refused.errorCode == "CHECKPOINT_CORRUPT")
        #expect(refused.error?.context?["newest_valid_checkpoint"] == .string(old))
        #expect(refused.error?.message.contains("f.txt") == true)
        #expect(FileManager.default.contents(atPath: file) == Data("three".utf8))
        // The state alone needs no file contents.
        let state = await t.run("w1", "restore", "{\"checkpoint_id\": \"\(new)\", \"strategy\": \"partial_restore\"}")
        #expect(state.succeeded, "\(state.json)")
    }

    /// A capture that reads bytes the store already holds under their SHA-256 compares them:
    /// a damaged stored copy is replaced, so the new checkpoint is valid (it was corrupt from
    /// the moment it was taken, while `checkpoint` said it was valid).
    @Test func aCaptureRepairsDamagedContentsItReadsAgain() async throws {
        _ = try await twoCheckpointsTheNewerDamaged()
        try Data("two".utf8).write(to: URL(fileURLWithPath: file))
        let fresh = await t.run("w1", "checkpoint", #"{"name": "fresh", "include_files": ["f.txt"]}"#)
        let id = try #require(fresh.result["checkpoint_id"]?.stringValue, "\(fresh.json)")
        let listed = await t.run("w1", "list-checkpoints").result["checkpoints"]?.arrayValue ?? []
        #expect(listed.first { $0["checkpoint_id"]?.stringValue == id }?["valid"] == true, "\(listed)")
        #expect(await t.run("w1", "restore", "{\"checkpoint_id\": \"\(id)\"}").succeeded)
    }
}

/// A capture of unchanged files takes their contents from the store unread. One stored copy
/// gone bad made the new checkpoint corrupt while it counted as the newest valid one, and
/// retention removed the only valid checkpoint left. Before retention removes anything, the
/// reused contents are checked, and mended from their files.
@Suite struct ReusedContentsTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    func captured(_ path: String, _ text: String) throws -> CapturedFiles {
        try t.writeFile(path, text)
        var files = CapturedFiles()
        files.root = t.directory.path
        files.manifest = [
            CheckpointFile(
                path: path, sha256: Checksum.sha256(Array(text.utf8)), size: Int64(text.utf8.count), mode: 0o644)
        ]
        return files
    }

    @Test func aStoredCopyGoneBadIsMendedFromItsUnchangedFile() async throws {
        let files = try captured("src/f.txt", "the contents")
        let sha = files.manifest[0].sha256
        try await t.hub.store.write { tx in try tx.storeContents(sha256: sha, bytes: Array("gone bad".utf8)) }
        var checked = files
        checked.reusedNotWhole = try await t.hub.store.read { tx in try CheckpointCapture.checkReused(files, in: tx) }
        #expect(checked.reusedNotWhole?.map(\.sha256) == [sha])
        let mended = checked
        let whole = try await t.hub.store.write { tx in try CheckpointCapture.mendReused(mended, in: tx) }
        #expect(whole)
        let stored = try await t.hub.store.read { tx in try tx.contents(sha256: sha) }
        #expect(stored == Array("the contents".utf8))
    }

    @Test func aStoredCopyThatCannotBeMendedIsSaid() async throws {
        let files = try captured("src/f.txt", "the contents")
        let sha = files.manifest[0].sha256
        try await t.hub.store.write { tx in try tx.storeContents(sha256: sha, bytes: Array("gone bad".utf8)) }
        try t.writeFile("src/f.txt", "changed since")
        var checked = files
        checked.reusedNotWhole = try await t.hub.store.read { tx in try CheckpointCapture.checkReused(files, in: tx) }
        let mended = checked
        #expect(try await t.hub.store.write { tx in try CheckpointCapture.mendReused(mended, in: tx) } == false)
        // Not checked at all: nothing is known whole.
        #expect(try await t.hub.store.write { tx in try CheckpointCapture.mendReused(files, in: tx) } == false)
    }

    /// Through retention: with keep 1, a new checkpoint whose reused copy cannot be mended
    /// does not push out the older, valid one; one that can be mended does.
    @Test func retentionKeepsTheOlderCheckpointWhileTheNewOneMayBeCorrupt() async throws {
        await t.run("w1", "create", #"{"phases": ["p"]}"#)
        let older = try #require(await t.run("w1", "checkpoint").result["checkpoint_id"]?.stringValue)
        let files = try captured("src/f.txt", "the contents")
        let sha = files.manifest[0].sha256
        try await t.hub.store.write { tx in try tx.storeContents(sha256: sha, bytes: Array("gone bad".utf8)) }
        try t.writeFile("src/f.txt", "changed since")
        func take() async throws -> [String] {
            let ids = t.hub.ids
            var files = files
            let unchecked = files
            files.reusedNotWhole = try await t.hub.store.read { tx in
                try CheckpointCapture.checkReused(unchecked, in: tx)
            }
            t.clock.advance(by: .seconds(1))
            let now = t.clock.nowMilliseconds()
            let checked = files
            return try await t.hub.store.write { tx in
                guard let workflow = try tx.workflow("w1") else { return [] }
                return try CheckpointCapture.take(
                    tx: tx, workflow: workflow, trigger: .manual, name: "again", now: now, ids: ids, keep: 1,
                    files: checked
                ).expired
            }
        }
        #expect(try await take() == [])
        #expect(try await t.hub.store.read { tx in try tx.checkpointIDs(of: "w1") }.contains(older))
        try t.writeFile("src/f.txt", "the contents")
        #expect(try await take().contains(older))
    }
}

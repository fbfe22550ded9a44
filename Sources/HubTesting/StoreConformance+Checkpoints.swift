import HubCore
import HubStore

/// The checkpoint part of the store contract (§11): checkpoints round-trip byte for byte,
/// list newest first, go with their workflow; contents are stored once per SHA-256 and
/// removed only when no checkpoint references them.
extension StoreConformance {
    static let checkpointCases: [(name: String, run: @Sendable (any Store) async throws -> Void)] = [
        ("checkpoints round-trip byte for byte and list newest first", checkpointsRoundTrip),
        ("contents are stored once per SHA-256 and kept while referenced", contentsAreShared),
        ("removing a workflow's checkpoints keeps other workflows' contents", checkpointsRemoval),
    ]

    static func checkpoint(
        _ id: String, workflow: String, name: String, at time: Int64, files: Int = 0, document: [UInt8]? = nil
    ) -> Checkpoint {
        let bytes = document ?? Array("{\"checkpoint\":\"\(id)\"}".utf8)
        return Checkpoint(
            checkpointID: id, workflowID: workflow, name: name, trigger: .manual, createdAt: time, stateVersion: 3,
            eventSequence: 42, checksum: Checksum.sha256(bytes), document: bytes, fileCount: files, stateValid: true)
    }

    static func stamp(_ sha: String) -> FileStamp {
        FileStamp(sha256: sha, size: 5, mode: 0o644, modifiedNanos: 11, changedNanos: 12, inode: 13)
    }

    static func checkpointsRoundTrip(_ store: any Store) async throws {
        try await insert(sample("conf_cp"), into: store)
        let binary: [UInt8] = [0, 255, 10, 13, 34, 92] + Array("{}".utf8)
        let first = checkpoint("chkpt_conf_1", workflow: "conf_cp", name: "one", at: 5_000, document: binary)
        let second = checkpoint("chkpt_conf_2", workflow: "conf_cp", name: "two", at: 5_000)
        let third = checkpoint("chkpt_conf_3", workflow: "conf_cp", name: "three", at: 4_000)
        try await store.write { tx in
            try tx.insert(first, files: [:])
            try tx.insert(second, files: [:])
            try tx.insert(third, files: [:])
        }
        let back = try await store.read { tx in try tx.checkpoint(id: "chkpt_conf_1") }
        try expect(back == first, "the stored checkpoint differs: \(String(describing: back))")
        try expect(back?.isValid == true, "a stored checkpoint no longer matches its checksum")
        let listed = try await store.read { tx in try tx.checkpoints(of: "conf_cp", limit: 10).map(\.checkpointID) }
        try expect(
            listed == ["chkpt_conf_2", "chkpt_conf_1", "chkpt_conf_3"],
            "checkpoints are not newest first (ties by insertion): \(listed)")
        let ids = try await store.read { tx in try tx.checkpointIDs(of: "conf_cp") }
        try expect(ids == listed, "checkpointIDs disagrees with checkpoints: \(ids)")
        let latest = try await store.read { tx in try tx.latestCheckpointTime(of: "conf_cp") }
        try expect(latest == 5_000, "latestCheckpointTime is \(String(describing: latest))")
        let none = try await store.read { tx in try tx.latestCheckpointTime(of: "conf_read_none") }
        try expect(none == nil, "a workflow without checkpoints has a latest time")
    }

    static func contentsAreShared(_ store: any Store) async throws {
        try await insert(sample("conf_blob"), into: store)
        let bytes: [UInt8] = Array("hello".utf8)
        let sha = Checksum.sha256(bytes)
        try await store.write { tx in
            try tx.storeContents(sha256: sha, bytes: bytes)
            try tx.storeContents(sha256: sha, bytes: bytes)
            try tx.insert(
                checkpoint("chkpt_blob_1", workflow: "conf_blob", name: "a", at: 1, files: 1),
                files: ["a.txt": stamp(sha)])
            try tx.insert(
                checkpoint("chkpt_blob_2", workflow: "conf_blob", name: "b", at: 2, files: 1),
                files: ["b.txt": stamp(sha)])
        }
        let stored = try await store.read { tx in try tx.storedContents([sha, String(repeating: "0", count: 64)]) }
        try expect(stored == [sha], "storedContents answered \(stored)")
        let stamps = try await store.read { tx in try tx.fileStamps(checkpointID: "chkpt_blob_2") }
        try expect(stamps == ["b.txt": stamp(sha)], "file stamps did not round-trip: \(stamps)")
        let removedNone = try await store.write { tx in
            try tx.removeCheckpoints(["chkpt_blob_1"])
            return try tx.removeUnreferencedContents()
        }
        try expect(removedNone.count == 0, "contents still referenced by a checkpoint were removed")
        let back = try await store.read { tx in try tx.contents(sha256: sha) }
        try expect(back == bytes, "contents did not round-trip")
        let removed = try await store.write { tx in
            try tx.removeCheckpoints(["chkpt_blob_2"])
            return try tx.removeUnreferencedContents()
        }
        try expect(removed.count == 1 && removed.bytes == 5, "unreferenced contents stayed: \(removed)")
        let gone = try await store.read { tx in try tx.contents(sha256: sha) }
        try expect(gone == nil, "removed contents can still be read")
    }

    static func checkpointsRemoval(_ store: any Store) async throws {
        try await insert(sample("conf_rm_a"), into: store)
        try await insert(sample("conf_rm_b"), into: store)
        let bytes: [UInt8] = Array("shared".utf8)
        let sha = Checksum.sha256(bytes)
        try await store.write { tx in
            try tx.storeContents(sha256: sha, bytes: bytes)
            try tx.insert(
                checkpoint("chkpt_rm_a", workflow: "conf_rm_a", name: "a", at: 1, files: 1), files: ["x": stamp(sha)])
            try tx.insert(
                checkpoint("chkpt_rm_b", workflow: "conf_rm_b", name: "b", at: 1, files: 1), files: ["x": stamp(sha)])
        }
        let removed = try await store.write { tx in
            try tx.removeCheckpoints(try tx.checkpointIDs(of: "conf_rm_a"))
            return try tx.removeUnreferencedContents()
        }
        try expect(removed.count == 0, "contents another workflow's checkpoint references were removed")
        let left = try await store.read { tx in try tx.checkpointIDs(of: "conf_rm_b") }
        try expect(left == ["chkpt_rm_b"], "another workflow's checkpoints changed: \(left)")
        // The two checkpoints had the same stamps: what is left of them is whole.
        let stamps = try await store.read { tx in try tx.fileStamps(checkpointID: "chkpt_rm_b") }
        try expect(stamps == ["x": stamp(sha)], "the remaining checkpoint's stamps changed: \(stamps)")
        try expect(
            try await store.read { tx in try tx.holdsFileSet(["x": stamp(sha)]) },
            "stamps a checkpoint still has are not known")
        let last = try await store.write { tx in
            try tx.removeCheckpoints(["chkpt_rm_b"])
            return try tx.removeUnreferencedContents()
        }
        try expect(last.count == 1, "contents of the last checkpoint stayed: \(last)")
        try expect(
            try await store.read { tx in try !tx.holdsFileSet(["x": stamp(sha)]) },
            "stamps no checkpoint has are still known")
    }
}

import Foundation
import GRDB
import HubCore
import HubStore

/// Checkpoints (§11): one row each with the canonical snapshot; the manifest's stamps as a
/// set in `checkpoint_set_files`, shared by every checkpoint with the same stamps; file
/// contents once per distinct SHA-256 in `checkpoint_contents`.
extension SQLiteTransaction {
    func checkpoint(id: String) throws -> Checkpoint? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM checkpoints WHERE id = ?"), arguments: [id])
            .flatMap(Self.checkpoint(from:))
    }

    func checkpoints(of workflowID: String, limit: Int) throws -> [Checkpoint] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT * FROM checkpoints WHERE workflow_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?"),
            arguments: [workflowID, limit]
        ).compactMap(Self.checkpoint(from:))
    }

    func checkpointIDs(of workflowID: String) throws -> [String] {
        try String.fetchAll(
            db.cachedStatement(
                sql: "SELECT id FROM checkpoints WHERE workflow_id = ? ORDER BY created_at DESC, rowid DESC"),
            arguments: [workflowID])
    }

    func latestCheckpointTime(of workflowID: String) throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT MAX(created_at) FROM checkpoints WHERE workflow_id = ?"),
            arguments: [workflowID])
    }

    func storedContents(_ sha256s: [String]) throws -> Set<String> {
        var found: Set<String> = []
        let unique = Array(Set(sha256s))
        // One query per 500 hashes (SQLite's default limit on bound values is far above that).
        for start in stride(from: 0, to: unique.count, by: 500) {
            let chunk = Array(unique[start..<min(start + 500, unique.count)])
            let marks = chunk.map { _ in "?" }.joined(separator: ",")
            for sha in try String.fetchAll(
                db, sql: "SELECT sha256 FROM checkpoint_contents WHERE sha256 IN (\(marks))",
                arguments: StatementArguments(chunk))
            {
                found.insert(sha)
            }
        }
        return found
    }

    func contents(sha256: String) throws -> [UInt8]? {
        try Data.fetchOne(
            db.cachedStatement(sql: "SELECT bytes FROM checkpoint_contents WHERE sha256 = ?"), arguments: [sha256]
        ).map { [UInt8]($0) }
    }

    func fileStamps(checkpointID: String) throws -> [PathKey: FileStamp] {
        var out: [PathKey: FileStamp] = [:]
        let rows = try Row.fetchCursor(
            db.cachedStatement(
                sql: "SELECT f.* FROM checkpoints c JOIN checkpoint_set_files f ON f.set_id = c.file_set WHERE c.id = ?"
            ),
            arguments: [checkpointID])
        while let row = try rows.next() {
            out[PathKey(row["path"])] = FileStamp(
                sha256: row["sha256"], size: row["size"], mode: row["mode"], modifiedNanos: row["mtime_ns"],
                changedNanos: row["ctime_ns"], inode: row["inode"])
        }
        return out
    }

    func holdsFileSet(id: String) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM checkpoint_file_sets WHERE id = ?)"),
            arguments: [id]) ?? false
    }

    func insert(_ c: Checkpoint, files: [PathKey: FileStamp], fileSet set: String?) throws {
        if let id = set, !files.isEmpty {
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO checkpoint_file_sets (id) VALUES (?)")
                .execute(arguments: [id])
            // A set stored before (the same files, unchanged) is shared as it is.
            if db.changesCount > 0 {
                let statement = try db.cachedStatement(
                    sql: """
                        INSERT INTO checkpoint_set_files (set_id, path, sha256, size, mode, mtime_ns, ctime_ns, inode)
                        VALUES (?,?,?,?,?,?,?,?)
                        """)
                for (path, s) in files {
                    try statement.execute(arguments: [
                        id, path.path, s.sha256, s.size, s.mode, s.modifiedNanos, s.changedNanos, s.inode,
                    ])
                }
            }
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO checkpoints (id, workflow_id, name, trigger, created_at, state_version, event_sequence,
                  checksum, snapshot, file_count, state_valid, file_set)
                VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
                """
        ).execute(arguments: [
            c.checkpointID, c.workflowID, c.name, c.trigger.rawValue, c.createdAt, c.stateVersion, c.eventSequence,
            c.checksum, Data(c.document), c.fileCount, c.stateValid, set,
        ])
    }

    func removeCheckpoints(_ ids: [String]) throws {
        let statement = try db.cachedStatement(sql: "DELETE FROM checkpoints WHERE id = ?")
        for id in ids { try statement.execute(arguments: [id]) }
        try removeUnreferencedFileSets()
    }

    /// Sets no checkpoint has any more (their files go with them).
    private func removeUnreferencedFileSets() throws {
        try db.execute(
            sql: """
                DELETE FROM checkpoint_file_sets
                WHERE NOT EXISTS (SELECT 1 FROM checkpoints c WHERE c.file_set = checkpoint_file_sets.id)
                """)
    }

    func storeContents(sha256: String, bytes: [UInt8]) throws {
        try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO checkpoint_contents (sha256, size, bytes) VALUES (?, ?, ?)"
        ).execute(arguments: [sha256, bytes.count, Data(bytes)])
    }

    func replaceContents(sha256: String, bytes: [UInt8]) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO checkpoint_contents (sha256, size, bytes) VALUES (?, ?, ?)",
            arguments: [sha256, bytes.count, Data(bytes)])
    }

    func removeUnreferencedContents() throws -> (count: Int, bytes: Int64) {
        // Checkpoints may also have gone with their workflow (ON DELETE CASCADE).
        try removeUnreferencedFileSets()
        let orphan = "NOT EXISTS (SELECT 1 FROM checkpoint_set_files f WHERE f.sha256 = checkpoint_contents.sha256)"
        let row = try Row.fetchOne(
            db, sql: "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS b FROM checkpoint_contents WHERE \(orphan)")
        try db.execute(sql: "DELETE FROM checkpoint_contents WHERE \(orphan)")
        return (row?["n"] ?? 0, row?["b"] ?? 0)
    }

    private static func checkpoint(from row: Row) -> Checkpoint? {
        guard let trigger = CheckpointTrigger(rawValue: row["trigger"]) else { return nil }
        let data: Data = row["snapshot"] ?? Data()
        return Checkpoint(
            checkpointID: row["id"], workflowID: row["workflow_id"], name: row["name"], trigger: trigger,
            createdAt: row["created_at"], stateVersion: row["state_version"], eventSequence: row["event_sequence"],
            checksum: row["checksum"], document: [UInt8](data), fileCount: row["file_count"],
            stateValid: row["state_valid"])
    }
}

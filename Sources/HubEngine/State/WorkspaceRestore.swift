import Foundation
import HubCore

/// Puts a checkpoint's files back (§11): only inside the workspace, each written to a
/// temporary file beside it, fsynced and renamed into place (so a file is wholly old or
/// wholly new at any instant), modes kept, never through a symlinked directory.
struct WorkspaceRestore {
    let files: WorkspaceFiles
    /// Names of the temporary files a restore writes beside their targets.
    static let temporaryPrefix = ".hub-restore-"

    struct Plan {
        var writes: [(entry: CheckpointFile, created: Bool)] = []
        var removals: [String] = []
        var unchanged: [String] = []
        var skipped: [WorkspaceFiles.Skip] = []

        var json: JSONValue {
            [
                "changed": .strings(writes.filter { !$0.created }.map(\.entry.path)),
                "created": .strings(writes.filter(\.created).map(\.entry.path)),
                "removed": .strings(removals), "unchanged": .count(unchanged.count),
                "skipped": .array(skipped.map(\.json)),
            ]
        }
    }

    /// Compares the workspace with the manifest: what to write, what to remove (files the
    /// checkpoint's scope matches that it did not capture), what already matches.
    func plan(_ manifest: [CheckpointFile], scope: [String]) throws(HubError) -> Plan {
        var plan = Plan()
        for entry in manifest {
            switch files.inspect(entry.path) {
            case .found(let facts):
                switch facts.kind {
                case .file:
                    let same =
                        facts.size == entry.size && facts.mode == entry.mode
                        && FileSystem.readFile(files.root + "/" + entry.path, maximum: WorkspaceFiles.maximumBytes)
                            .map(Checksum.sha256) == entry.sha256
                    if same { plan.unchanged.append(entry.path) } else { plan.writes.append((entry, false)) }
                case .symlink:
                    // rename replaces the link itself, never what it points to.
                    plan.writes.append((entry, false))
                case .directory, .other:
                    plan.skipped.append(.init(path: entry.path, reason: "a directory or special file is in its place"))
                }
            case .skipped(let skip):
                if skip.reason == "does not exist" {
                    plan.writes.append((entry, true))
                } else {
                    plan.skipped.append(skip)
                }
            }
        }
        let captured = Set(manifest.map(\.path))
        let patterns = scope.compactMap(GlobPattern.init)
        if !patterns.isEmpty {
            let (present, _) = try files.scan(patterns)
            plan.removals = present.map(\.path).filter { !captured.contains($0) }
        }
        return plan
    }

    /// Files written in full beside their targets, not yet in place: a restore stages them
    /// before its state transaction and installs them after it commits, or discards them
    /// when it fails, so a refused restore changes no file.
    struct Staged {
        var renames: [(temporary: String, target: String)] = []
        var removals: [String] = []
        /// Directories the staging created (deepest last), removed again on discard when empty.
        var createdDirectories: [String] = []
    }

    /// Writes every file of the plan to a temporary file beside its target (fsynced).
    /// Fails with `STORE_UNAVAILABLE` naming the file that could not be written, having removed
    /// what it wrote.
    func stage(_ plan: Plan, contents: [String: [UInt8]]) throws(HubError) -> Staged {
        // Temporary files of a restore that was killed before its renames are ours to remove.
        for directory in Set(plan.writes.map { FileSystem.parent(of: files.root + "/" + $0.entry.path) }) {
            for name in FileSystem.entries(directory) ?? []
            where name.hasPrefix(Self.temporaryPrefix) && name.hasSuffix(".tmp") {
                _ = FileSystem.remove(directory + "/" + name)
            }
        }
        var staged = Staged()
        do throws(HubError) {
            for (entry, _) in plan.writes {
                guard let bytes = contents[entry.sha256] else {
                    throw HubError(
                        .checkpointCorrupt, "The stored contents of \(entry.path) (\(entry.sha256)) are missing")
                }
                try makeParents(of: entry.path, created: &staged.createdDirectories)
                let target = files.root + "/" + entry.path
                let temporary = FileSystem.parent(of: target) + "/\(Self.temporaryPrefix)\(UUID().uuidString).tmp"
                if let code = FileSystem.writeTemporary(temporary, bytes, mode: entry.mode) {
                    throw failure("write \(entry.path)", code)
                }
                staged.renames.append((temporary, target))
            }
        } catch {
            discard(staged)
            throw error
        }
        staged.removals = plan.removals
        return staged
    }

    /// Puts the staged files in place (each rename atomic) and removes the plan's removals.
    func install(_ staged: Staged) throws(HubError) {
        for (temporary, target) in staged.renames {
            if let code = FileSystem.install(temporary, over: target) {
                throw failure("write \(target.dropFirst(files.root.count + 1))", code)
            }
        }
        for path in staged.removals {
            guard case .found(let facts) = files.inspect(path), facts.kind == .file else { continue }
            if let code = FileSystem.remove(files.root + "/" + path) { throw failure("remove \(path)", code) }
        }
    }

    /// Removes what staging wrote: the temporary files and the directories it created.
    func discard(_ staged: Staged) {
        for (temporary, _) in staged.renames { _ = FileSystem.remove(temporary) }
        for directory in staged.createdDirectories.reversed() { _ = FileSystem.removeEmptyDirectory(directory) }
    }

    /// Creates missing parent directories, refusing any that is a symlink or not a directory.
    private func makeParents(of path: String, created: inout [String]) throws(HubError) {
        let parts = path.split(separator: "/").dropLast()
        var current = files.root
        for part in parts {
            current += "/" + part
            switch FileSystem.facts(current)?.kind {
            case .directory?: continue
            case nil:
                if let code = FileSystem.makeDirectory(current) { throw failure("create \(current)", code) }
                created.append(current)
            case .symlink?:
                throw HubError(
                    .pathNotAllowed, "\(current) is a symbolic link; restore never writes through one",
                    details: "Remove the link or restore without files (partial_restore); nothing more was written.")
            default:
                throw HubError(
                    .pathNotAllowed, "\(current) is not a directory, so \(path) cannot be restored beneath it",
                    details: "Move it aside and restore again.")
            }
        }
    }

    private func failure(_ what: String, _ code: Int32) -> HubError {
        HubError(
            .storeUnavailable, "Cannot \(what) in the workspace \(files.root): \(FileSystem.describe(code))",
            details: "Check the workspace's permissions and free space; files already restored are whole.",
            suggestions: ["Fix the cause and run the same restore again: it is idempotent"])
    }
}

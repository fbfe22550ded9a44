import Foundation
import HubCore

/// Puts a checkpoint's files back (§11): only inside the workspace, each written to a
/// temporary file beside it, fsynced and renamed into place (so a file is wholly old or
/// wholly new at any instant), modes kept.
///
/// Every call is relative to a directory opened one component at a time without following
/// symlinks, so nothing is ever written or removed through a symlink, and the length of a
/// whole path never matters. A restore brings back every captured file exactly or refuses:
/// when a directory, a symlink, a file or the state directory stands where a captured file
/// or one of its directories belongs, the plan fails with `PATH_NOT_ALLOWED` naming each,
/// before anything is changed.
struct WorkspaceRestore {
    let files: WorkspaceFiles
    /// Names of the temporary files a restore writes beside their targets.
    static let temporaryPrefix = ".hub-restore-"

    /// Whether the relative `path` names one of those temporary files.
    static func isTemporary(_ path: String) -> Bool {
        let name = split(path).name
        return name.hasPrefix(temporaryPrefix) && name.hasSuffix(".tmp")
    }

    /// Most files a restore looks through for ones to remove: a checkpoint holds at most
    /// ``WorkspaceFiles/maximumFiles``, but what its globs match now may have grown since.
    static let maximumScanned = 200_000

    struct Plan {
        var writes: [(entry: CheckpointFile, created: Bool)] = []
        var removals: [String] = []
        var unchanged: [String] = []

        var json: JSONValue {
            [
                "changed": .strings(writes.filter { !$0.created }.map(\.entry.path)),
                "created": .strings(writes.filter(\.created).map(\.entry.path)),
                "removed": .strings(removals), "unchanged": .count(unchanged.count),
            ]
        }
    }

    /// Compares the workspace with the manifest: what to write, what to remove (regular files
    /// the checkpoint's scope matches that it did not capture), what already matches. Refuses
    /// with `PATH_NOT_ALLOWED` when something is in the way of a captured file.
    func plan(_ manifest: [CheckpointFile], scope: [String], unread: [String] = []) throws(HubError) -> Plan {
        let root = try openRoot()
        var plan = Plan()
        var obstacles: [Obstacle] = []
        for entry in manifest {
            switch probe(entry, root: root) {
            case .missing: plan.writes.append((entry, true))
            case .same: plan.unchanged.append(entry.path)
            case .different: plan.writes.append((entry, false))
            case .blocked(let obstacle): obstacles.append(obstacle)
            }
        }
        guard obstacles.isEmpty else { throw blocked(obstacles) }
        // Files there at the checkpoint that it could not read are not the checkpoint's to remove.
        // By bytes: a file whose name differs from a captured one only in Unicode normalization
        // is another file, which the checkpoint did not hold (a Set<String> took it for the captured one).
        let captured = Set((manifest.map(\.path) + unread).map { PathKey($0) })
        let patterns = scope.compactMap(GlobPattern.init)
        if !patterns.isEmpty {
            // The scan lists regular files only, never entering a symlinked directory, and never
            // a restore's temporary files (a killed restore's are swept when their directory is staged).
            let (present, _) = try files.scan(patterns, limit: Self.maximumScanned) {
                HubError(
                    .invalidParameters,
                    "The checkpoint's file globs (\(scope.joined(separator: ", ").prefix(256))) now match more than \(Self.maximumScanned) files under \(files.root)",
                    details:
                        "A restore removes the files they match that the checkpoint did not hold; nothing was changed.",
                    suggestions: ["Restore the state alone with strategy partial_restore"])
            }
            // The same name in another normalization is kept when it is the captured file itself:
            // where the file system does not tell the two apart (macOS), removing it would remove
            // the file just restored.
            var canonical: [String: String] = [:]
            for path in manifest.map(\.path) + unread { canonical[path] = path }
            plan.removals = present.filter { file in
                guard !captured.contains(PathKey(file.path)) else { return false }
                // Below a directory the checkpoint could not list: not known to it, so not removed.
                guard !unread.contains(where: { $0 == "." || PathKey.isInside(file.path, $0) }) else { return false }
                guard let twin = canonical[file.path] else { return true }
                return FileSystem.facts(files.root + "/" + twin)?.inode != file.facts.inode
            }.map(\.path)
        }
        return plan
    }

    /// Files written in full beside their targets, not yet in place: a restore stages them
    /// before its state transaction and installs them after it commits, or discards them
    /// when it fails, so a refused restore changes no file.
    struct Staged {
        /// Directory (relative to the workspace, "" for itself), temporary name, target name.
        var renames: [(directory: String, temporary: String, name: String)] = []
        var removals: [String] = []
        /// Directories the staging created (relative, parents first), removed again on discard.
        var createdDirectories: [String] = []
    }

    /// What staging `plan` will write, named before it is written so that a journal can name it
    /// first: a temporary file beside each target, and the directories missing now.
    func planned(_ plan: Plan) -> Staged {
        var staged = Staged()
        var checked: Set<PathKey> = []
        for (entry, _) in plan.writes {
            let (directory, name) = Self.split(entry.path)
            // Short and unique; relative to the open directory, so a long path cannot overflow PATH_MAX.
            staged.renames.append(
                (directory, Self.temporaryPrefix + String(UUID().uuidString.prefix(8)) + ".tmp", name))
            var walked = ""
            for part in directory.split(separator: "/").map(String.init) {
                walked = Self.join(walked, part)
                // Each directory looked at once, however many files go into it.
                guard checked.insert(PathKey(walked)).inserted else { continue }
                if (try? openIfPresent(walked)) ?? nil == nil { staged.createdDirectories.append(walked) }
            }
        }
        staged.removals = plan.removals
        return staged
    }

    /// Writes every file of the plan to its temporary file of `planned` (fsynced). Fails
    /// naming the file that could not be written, having removed what it wrote.
    func stage(_ plan: Plan, as planned: Staged, contents: [String: [UInt8]]) throws(HubError) -> Staged {
        var staged = Staged()
        // Nothing else named like a temporary file is touched: another process's restore may be
        // writing it (sweeping them destroyed a concurrent restore's files), or it is the user's.
        // A killed restore's temporaries go with its journal, which names them before they exist.
        do throws(HubError) {
            for ((entry, _), (directory, temporary, name)) in zip(plan.writes, planned.renames) {
                guard let bytes = contents[entry.sha256] else {
                    throw HubError(
                        .checkpointCorrupt, "The stored contents of \(entry.path) (\(entry.sha256)) are missing")
                }
                let handle = try open(directory, create: true, created: &staged.createdDirectories)
                if let code = FileSystem.writeNewFile(temporary, in: handle, bytes, mode: entry.mode) {
                    throw failure("write \(entry.path)", code)
                }
                staged.renames.append((directory, temporary, name))
            }
        } catch {
            discard(staged)
            throw error
        }
        staged.removals = plan.removals
        return staged
    }

    /// Puts the staged files in place (each rename atomic) and removes the plan's removals
    /// (regular files only, never through a symlink). `resuming` finishes an install that was
    /// interrupted: a temporary file (or its directory) no longer there was renamed already.
    func install(_ staged: Staged, resuming: Bool = false) throws(HubError) {
        for (directory, temporary, name) in staged.renames {
            guard let handle = resuming ? try openIfPresent(directory) : try open(directory) else { continue }
            if let code = FileSystem.rename(temporary, over: name, in: handle) {
                if resuming && code.code == ENOENT { continue }
                _ = FileSystem.remove(temporary, in: handle)
                throw failure("write \(Self.join(directory, name))", code)
            }
        }
        for path in staged.removals {
            let (directory, name) = Self.split(path)
            guard let handle = try? open(directory),
                FileSystem.facts(of: name, in: handle)?.kind == .file
            else { continue }
            if let code = FileSystem.remove(name, in: handle) { throw failure("remove \(path)", code) }
        }
    }

    /// Removes what staging wrote: the temporary files and the directories it created.
    func discard(_ staged: Staged) {
        for (directory, temporary, _) in staged.renames {
            if let handle = try? open(directory) { _ = FileSystem.remove(temporary, in: handle) }
        }
        for path in staged.createdDirectories.reversed() {
            let (directory, name) = Self.split(path)
            if let handle = try? open(directory) {
                _ = FileSystem.remove(name, in: handle, directory: true)
            }
        }
    }

    /// Opens a directory under the workspace one component at a time, never following a symlink.
    /// With `create`, missing directories are made and appended to `created`.
    private func open(_ directory: String, create: Bool, created: inout [String]) throws(HubError) -> DirectoryHandle {
        var handle = try openRoot()
        var walked = ""
        for part in directory.split(separator: "/").map(String.init) {
            walked = Self.join(walked, part)
            var opened = FileSystem.openDirectory(part, in: handle)
            if create, case .failure(let code) = opened, code.code == ENOENT {
                if let code = FileSystem.makeDirectory(part, in: handle) { throw failure("create \(walked)", code) }
                created.append(walked)
                opened = FileSystem.openDirectory(part, in: handle)
            }
            switch opened {
            case .success(let next): handle = next
            case .failure(let code): throw failure("open \(walked)", code)
            }
        }
        return handle
    }

    /// Opens an existing directory under the workspace like ``open(_:)``; `nil` when one of
    /// its components is missing.
    private func openIfPresent(_ directory: String) throws(HubError) -> DirectoryHandle? {
        var handle = try openRoot()
        var walked = ""
        for part in directory.split(separator: "/").map(String.init) {
            walked = Self.join(walked, part)
            switch FileSystem.openDirectory(part, in: handle) {
            case .success(let next): handle = next
            case .failure(let code) where code.code == ENOENT: return nil
            case .failure(let code): throw failure("open \(walked)", code)
            }
        }
        return handle
    }

    /// Opens an existing directory under the workspace, never following a symlink.
    private func open(_ directory: String) throws(HubError) -> DirectoryHandle {
        var none: [String] = []
        return try open(directory, create: false, created: &none)
    }

    /// The workspace itself must be a real directory too: one replaced by a symlink since would
    /// have the restore write and remove files wherever the link points. (Symlinks among its
    /// parents are resolved, as when the workflow was created.)
    private func openRoot() throws(HubError) -> DirectoryHandle {
        try files.refuseInsideStateDirectory()
        if FileSystem.facts(files.named)?.kind == .symlink {
            throw HubError(
                .pathNotAllowed,
                "The workflow's workspace \(files.named.prefix(256)) is a symlink (to \(files.root.prefix(256))); a restore writes files only into a real directory, never through a symlink",
                details: "Nothing was changed.",
                context: ["workspace": .string(files.named), "resolved": .string(files.root)],
                suggestions: [
                    "Put the directory back in place of the symlink and restore again",
                    "Restore the state alone with strategy partial_restore",
                ])
        }
        switch FileSystem.openDirectory(files.root) {
        case .success(let handle): return handle
        case .failure(let code):
            throw HubError(
                .invalidParameters, "The workflow's workspace \(files.root) cannot be opened: \(code.description)",
                details: "A restore puts files back under the workspace; it must be a directory. Nothing was changed.",
                context: ["workspace": .string(files.root)])
        }
    }

    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.isEmpty ? name : directory + "/" + name
    }

    func failure(_ what: String, _ code: Errno) -> HubError {
        if code == .nameTooLong {
            return HubError(
                .pathNotAllowed,
                "Cannot \(what) in the workspace \(files.root): a name is too long for the file system",
                details:
                    "Names are limited to 255 bytes on most file systems. Restore into a workspace that allows it.",
                context: ["workspace": .string(files.root)])
        }
        if code.isInTheWay {
            return HubError(
                .pathNotAllowed,
                "Cannot \(what) in the workspace \(files.root): something in the way changed during the restore (\(code.description))",
                details: "A restore never writes through a symbolic link or over a directory.",
                context: ["workspace": .string(files.root)],
                suggestions: ["Move it aside and run the same restore again: it is idempotent"])
        }
        return HubError(
            .storeUnavailable, "Cannot \(what) in the workspace \(files.root): \(code.description)",
            details: "Check the workspace's permissions and free space; files already restored are whole.",
            suggestions: ["Fix the cause and run the same restore again: it is idempotent"])
    }
}

import Foundation
import HubCore
import HubStore

/// Chooses, reads and writes a workflow's workspace files for checkpoints (§11, §16).
///
/// Paths never leave the workspace: patterns are relative without `..`; the walk does not
/// follow symlinks (a matched symlink is skipped and reported, a symlinked directory is not
/// entered, so a symlink loop cannot trap it); the state directory is never captured or
/// restored; restores refuse to write through a symlinked parent directory.
struct WorkspaceFiles {
    /// Most files one checkpoint captures. More is refused with `INVALID_PARAMETERS`.
    static let maximumFiles = 5_000
    /// Most bytes one checkpoint captures, all files together. 512 MiB.
    static let maximumBytes: Int64 = 512 << 20

    /// The workspace, symlinks resolved.
    let root: String
    /// The workspace as the workflow names it (absolute, symlinks kept).
    let named: String
    /// Directories never captured nor restored (the state directory), resolved.
    let excluded: [String]

    /// Whether `absolute` is one of ``excluded``. Compared as `String`s (canonically), unlike
    /// the files themselves: a folder named like the state directory in another Unicode
    /// normalization is another folder on Linux, but the same one where the file system does
    /// not tell them apart (macOS), and a restore must never write into the state directory.
    func isExcluded(_ absolute: String) -> Bool {
        excluded.contains(absolute)
    }

    /// Refuses a workspace that is the state directory or lies inside it (`PATH_NOT_ALLOWED`):
    /// the walk excludes the state directory only below the workspace, so such a workspace let
    /// a checkpoint capture the store and a restore write the captured bytes over the live
    /// database. `create` and `load-state` refuse such a workspace; this holds for workflows
    /// stored before they did.
    func refuseInsideStateDirectory() throws(HubError) {
        guard let state = excluded.first(where: { root == $0 || root.hasPrefix($0 + "/") }) else { return }
        throw HubError(
            .pathNotAllowed,
            "The workflow's workspace \(root.prefix(256)) is inside the hub's state directory \(state.prefix(256)); files are never captured from it nor restored into it",
            details: "Nothing was changed.",
            context: ["workspace": .string(root), "state_directory": .string(state)],
            suggestions: ["Use a workspace outside the state directory (load-state takes one)"])
    }

    init(workspace: String, stateDirectory: String) {
        // Not resolved: this is the name a symlink put in the workspace's place since would be found at.
        named = Paths.absolute(workspace, relativeTo: "/")
        root = Paths.resolved(Paths.absolute(workspace, relativeTo: "/"))
        excluded = [Paths.resolved(Paths.absolute(stateDirectory, relativeTo: "/"))]
    }

    struct Found {
        var path: String
        var facts: FileFacts
    }

    /// A file passed over, with why.
    struct Skip {
        var path: String
        var reason: String
        /// A directory whose entries could not be listed: what it holds was not seen, so a
        /// restore leaves everything below it alone (it removed the files it held).
        var unlisted = false
        var json: JSONValue { ["path": .string(path), "reason": .string(reason)] }
    }

    /// Why a path that could not be looked at is skipped.
    static let unlookable =
        "could not be looked at (a folder above it could not be read, or the path is too long); it is not captured, and a restore leaves it alone"

    /// Why an unlisted directory is skipped.
    static let unlistable =
        "a directory that could not be read (its permissions, or a path too long); its files are not captured, and a restore leaves them alone"

    /// Whether `text` holds a brace list `{a,b}` (a file may be named `{slug}.js`: no comma).
    static func hasBraceList(_ text: String) -> Bool {
        guard let open = text.firstIndex(of: "{"), let close = text[open...].firstIndex(of: "}") else { return false }
        return text[open..<close].contains(",")
    }

    /// Parses patterns; absolute ones and `..` are `PATH_NOT_ALLOWED`.
    func patterns(_ raw: [String], field: String) throws(HubError) -> [GlobPattern] {
        var out: [GlobPattern] = []
        for (n, text) in raw.enumerated() {
            // Syntax of other tools that this one does not have: it matched no file, and the
            // pattern was reported as a path that "does not exist".
            if text.hasPrefix("!") || Self.hasBraceList(text) {
                throw HubError.parameter(
                    "\(field)[\(n)]",
                    "\"\(text.prefix(256))\" uses \(text.hasPrefix("!") ? "an exclusion (!)" : "braces ({a,b})"), which patterns do not have: they know *, ?, [...] and ** (any number of directories)",
                    suggestions: ["List each pattern on its own, e.g. [\"src/**/*.swift\", \"docs/*.md\"]"])
            }
            // A plain path naming a directory ("sub", "sub/") stands for the files under it, as a
            // declared directory does: it matched the directory itself, and captured nothing.
            let plain = !text.contains { "*?[".contains($0) }
            var trimmed = text
            while plain && trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
            guard var pattern = GlobPattern(trimmed) else {
                throw HubError(
                    .pathNotAllowed,
                    "\(field)[\(n)] \"\(text.prefix(256))\" is not a pattern under the workspace: it is empty, absolute or climbs out with ..",
                    details: "Patterns are relative to the workflow's workspace \(root) and stay inside it.",
                    context: ["field": .string("\(field)[\(n)]"), "workspace": .string(root)],
                    suggestions: ["Use a relative pattern such as src/**/*.swift"])
            }
            if plain, FileSystem.facts(root + "/" + pattern.text)?.kind == .directory,
                let below = GlobPattern(pattern.text + "/**")
            {
                pattern = below
            }
            out.append(pattern)
        }
        return out
    }

    /// The task-declared files as patterns: paths inside the workspace made relative; others
    /// skipped. A declared path that is a directory stands for the files under it: a risky
    /// task declaring `src` had an empty "before" checkpoint, and its rollback restored nothing.
    func declaredPatterns(_ files: [String]) -> (patterns: [GlobPattern], skipped: [Skip]) {
        var patterns: [GlobPattern] = []
        var skipped: [Skip] = []
        // Deduplicated by bytes: a Set<String> kept one of two names that differ only in
        // Unicode normalization (two files), and the checkpoint held one of them.
        for file in Set(files.map { PathKey($0) }).sorted().map(\.path) {
            // Normalized as create checked it: `c/../d.txt` and `./d.txt` are d.txt, not "outside".
            let absolute = Paths.absolute(file, relativeTo: root)
            guard Paths.isInside(absolute, root), PathKey(absolute) != PathKey(root) else {
                skipped.append(Skip(path: file, reason: "outside the workspace"))
                continue
            }
            let relative = String(absolute.dropFirst(root.count + 1))
            guard var pattern = GlobPattern.literal(relative) else {
                skipped.append(Skip(path: file, reason: "outside the workspace"))
                continue
            }
            if FileSystem.facts(root + "/" + relative)?.kind == .directory,
                let below = GlobPattern(pattern.text + "/**")
            {
                pattern = below
            }
            patterns.append(pattern)
        }
        return (patterns, skipped)
    }

    /// The regular files under the workspace that the patterns match, sorted by path; past
    /// `limit` files, `tooMany` is thrown. A restore's temporary files are never listed: they
    /// are the hub's own, left by a restore that was killed.
    func scan(_ patterns: [GlobPattern], limit: Int = maximumFiles, tooMany: (() -> HubError)? = nil)
        throws(HubError) -> (files: [Found], skipped: [Skip])
    {
        // Keyed by bytes: two names that differ only in Unicode normalization are two files.
        var found: [PathKey: Found] = [:]
        var skipped: [Skip] = []
        try refuseInsideStateDirectory()
        guard FileSystem.facts(root)?.kind == .directory else {
            throw HubError(
                .invalidParameters, "The workflow's workspace \(root) is not a directory",
                details: "Checkpoints capture files under the workspace; it must exist.",
                context: ["workspace": .string(root)])
        }
        func consider(_ path: String, _ facts: FileFacts) throws(HubError) {
            switch facts.kind {
            case .file:
                if WorkspaceRestore.isTemporary(path) { return }
                found[PathKey(path)] = Found(path: path, facts: facts)
                if found.count > limit { throw tooMany?() ?? capturesTooMany() }
            case .symlink: skipped.append(Skip(path: path, reason: "a symbolic link (not followed)"))
            case .other: skipped.append(Skip(path: path, reason: "not a regular file (a FIFO, socket or device)"))
            case .directory: break
            }
        }
        let literal = patterns.filter(\.isLiteral)
        let wild = patterns.filter { !$0.isLiteral }
        for pattern in literal {
            let path = pattern.literalPath
            switch inspect(path) {
            case .skipped(let skip): skipped.append(skip)
            case .found(let facts):
                if facts.kind == .directory {
                    skipped.append(Skip(path: path, reason: "a directory (use \(path)/** for its files)"))
                } else {
                    try consider(path, facts)
                }
            }
        }
        if !wild.isEmpty {
            var stack: [String] = [""]
            while let directory = stack.popLast() {
                let absolute = directory.isEmpty ? root : root + "/" + directory
                guard !isExcluded(absolute) else { continue }
                guard let entries = FileSystem.entriesWithFacts(absolute) else {
                    // Passed over in silence, its files were "not held by the checkpoint" to the
                    // restore, which removed them. (One that vanished since it was listed held none.)
                    let code = errno
                    if code != ENOENT && code != ENOTDIR {
                        skipped.append(
                            Skip(path: directory.isEmpty ? "." : directory, reason: Self.unlistable, unlisted: true))
                    }
                    continue
                }
                for (name, facts, utf8) in entries {
                    let path = directory.isEmpty ? name : directory + "/" + name
                    if facts.kind == .directory {
                        guard wild.contains(where: { $0.mayMatchBelow(path) }) else { continue }
                        if utf8 {
                            stack.append(path)
                        } else {
                            skipped.append(Skip(path: path, reason: Self.notUTF8 + "; its files are not captured"))
                        }
                    } else if wild.contains(where: { $0.matches(path) }) {
                        // `path` shows such a name escaped; it names no real file, so it is never read.
                        if utf8 {
                            try consider(path, facts)
                        } else {
                            skipped.append(Skip(path: path, reason: Self.notUTF8))
                        }
                    }
                }
            }
        }
        // A path matched by a literal pattern and a glob is said once.
        var said: Set<PathKey> = []
        return (
            found.values.sorted { PathKey($0.path) < PathKey($1.path) },
            skipped.filter { said.insert(PathKey($0.path)).inserted }.sorted { PathKey($0.path) < PathKey($1.path) }
        )
    }

    /// Why a name that is not UTF-8 is skipped: manifests, patterns and every door speak JSON,
    /// whose strings cannot carry such a name.
    static let notUTF8 = "its name is not valid UTF-8 (shown with \\xHH escapes); rename it to capture it"

    /// `lstat` of a relative path whose every parent is a real directory inside the workspace.
    enum Inspection {
        case found(FileFacts)
        case skipped(Skip)
    }

    func inspect(_ path: String) -> Inspection {
        let parts = path.split(separator: "/")
        var current = root
        for (n, part) in parts.enumerated() {
            current += "/" + part
            if isExcluded(current) { return .skipped(Skip(path: path, reason: "inside the state directory")) }
            guard let facts = FileSystem.facts(current) else {
                let code = errno
                if code == ENOENT || code == ENOTDIR { return .skipped(Skip(path: path, reason: "does not exist")) }
                // Not "does not exist": a restore then removed the file as one the checkpoint
                // did not hold. Kept among the unread paths, it is left alone.
                return .skipped(Skip(path: path, reason: Self.unlookable, unlisted: true))
            }
            if n < parts.count - 1 && facts.kind != .directory {
                return .skipped(
                    Skip(
                        path: path,
                        reason: facts.kind == .symlink
                            ? "a parent directory is a symbolic link (not followed)" : "a parent is not a directory"))
            }
            if n == parts.count - 1 { return .found(facts) }
        }
        return .skipped(Skip(path: path, reason: "does not exist"))
    }

    private func capturesTooMany() -> HubError {
        HubError(
            .invalidParameters,
            "include_files matches more than \(Self.maximumFiles) files under \(root); a checkpoint captures at most \(Self.maximumFiles)",
            details: "Narrow the globs to the files the work changes; nothing was captured.",
            context: ["field": "include_files", "maximum_files": .count(Self.maximumFiles)],
            suggestions: ["Name the directories the tasks work in, e.g. [\"src/**\", \"Package.swift\"]"])
    }
}

/// The files of one capture, read and hashed outside any transaction.
struct CapturedFiles: Sendable {
    var manifest: [CheckpointFile] = []
    var stamps: [PathKey: FileStamp] = [:]
    /// Contents the store does not hold yet, by SHA-256.
    var newContents: [String: [UInt8]] = [:]
    var scope: [String] = []
    /// The workspace the paths are relative to.
    var root: String = ""
    var skipped: [JSONValue] = []
    /// Files in the scope that could not be read, and directories that could not be listed
    /// (a restore leaves them, and everything below them, alone).
    var unread: [String] = []
    /// Files whose hash came from the previous capture's stamp without reading them.
    var reused = 0
    /// The reused contents found not whole in the store by ``CheckpointCapture/checkReused(_:in:)``
    /// before the capture is stored; `nil` while unchecked.
    var reusedNotWhole: [CheckpointFile]?
    var bytesRead: Int64 = 0
}

extension WorkspaceFiles {
    /// Reads and hashes the scanned files. A file whose `lstat` facts equal its stamp in
    /// `previous` keeps that hash unread (stamps of files changed within two seconds of a
    /// capture are never trusted, as git treats "racily clean" entries). Every file read
    /// lands in `newContents`; storing is idempotent, and the caller may drop those the store holds.
    func capture(_ files: [Found], skipped: [Skip], scope: [String], previous: [PathKey: FileStamp]) throws(HubError)
        -> CapturedFiles
    {
        var out = CapturedFiles(scope: scope, root: root, skipped: skipped.map(\.json))
        out.unread = skipped.filter(\.unlisted).map(\.path)
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000_000)
        let racy: Int64 = 2_000_000_000
        var total: Int64 = 0
        for file in files {
            total += file.facts.size
            guard total <= Self.maximumBytes else {
                throw HubError(
                    .invalidParameters,
                    "include_files selects more than \(Self.maximumBytes >> 20) MiB; a checkpoint captures at most that",
                    details: "Narrow the globs; nothing was captured.", context: ["field": "include_files"])
            }
            if let stamp = previous[PathKey(file.path)], stamp.changedNanos != 0, stamp.size == file.facts.size,
                stamp.modifiedNanos == file.facts.modifiedNanos, stamp.changedNanos == file.facts.changedNanos,
                stamp.inode == file.facts.inode, stamp.mode == file.facts.mode
            {
                out.reused += 1
                record(file, sha: stamp.sha256, into: &out, now: now, racy: racy)
                continue
            }
            let read: (bytes: [UInt8], file: Found)
            switch steadyRead(file) {
            case .read(let bytes, let facts):
                read = (bytes, Found(path: file.path, facts: facts))
            case let outcome:
                let reason = outcome == .unreadable ? "unreadable" : "it kept changing while it was read"
                out.skipped.append(Skip(path: file.path, reason: reason).json)
                out.unread.append(file.path)
                continue
            }
            out.bytesRead += Int64(read.bytes.count)
            let sha = Checksum.sha256(read.bytes)
            out.newContents[sha] = read.bytes
            record(read.file, sha: sha, size: Int64(read.bytes.count), into: &out, now: now, racy: racy)
        }
        return out
    }

    enum SteadyRead: Equatable {
        case read([UInt8], FileFacts)
        case unreadable
        case changing
    }

    /// Reads a file whose facts are the same after the read as before it: one being written
    /// meanwhile was stored as a mix of its old and new bytes — a version that never existed,
    /// restored byte for byte with a checksum that matched. Tried three times, then passed over.
    func steadyRead(_ file: Found) -> SteadyRead {
        var before = file.facts
        for _ in 0..<3 {
            guard let bytes = FileSystem.readFile(root + "/" + file.path, maximum: Self.maximumBytes),
                let after = FileSystem.facts(root + "/" + file.path), after.kind == .file
            else { return .unreadable }
            if after.size == Int64(bytes.count) && after.size == before.size
                && after.modifiedNanos == before.modifiedNanos && after.changedNanos == before.changedNanos
                && after.inode == before.inode
            {
                // Changed moments ago, the file's times may not show a write during the read
                // (they move in clock ticks, not nanoseconds): read once more and keep the bytes
                // only if they are the same, as git re-checks a "racily clean" file. A mix of two
                // versions was stored under load.
                let now = Int64(Date().timeIntervalSince1970 * 1_000_000_000)
                let racy: Int64 = 2_000_000_000
                guard after.modifiedNanos >= now - racy || after.changedNanos >= now - racy else {
                    return .read(bytes, after)
                }
                if let again = FileSystem.readFile(root + "/" + file.path, maximum: Self.maximumBytes),
                    let last = FileSystem.facts(root + "/" + file.path), last == after,
                    again == bytes
                {
                    return .read(bytes, after)
                }
            }
            before = after
        }
        return .changing
    }

    /// Re-reads a file whose hash was reused but whose contents the store no longer holds.
    static func reread(_ entry: CheckpointFile, root: String) throws(HubError) -> [UInt8] {
        guard let bytes = FileSystem.readFile(root + "/" + entry.path, maximum: Self.maximumBytes),
            Checksum.sha256(bytes) == entry.sha256
        else {
            throw HubError(
                .invalidParameters, "\(entry.path) changed while it was being captured; nothing was captured",
                details: "Take the checkpoint again once the file is written.", context: ["field": "include_files"])
        }
        return bytes
    }

    private func record(
        _ file: Found, sha: String, size: Int64? = nil, into out: inout CapturedFiles, now: Int64, racy: Int64
    ) {
        let size = size ?? file.facts.size
        out.manifest.append(CheckpointFile(path: file.path, sha256: sha, size: size, mode: file.facts.mode))
        let trusted = file.facts.changedNanos < now - racy && file.facts.modifiedNanos < now - racy
        out.stamps[PathKey(file.path)] = FileStamp(
            sha256: sha, size: size, mode: file.facts.mode, modifiedNanos: file.facts.modifiedNanos,
            changedNanos: trusted ? file.facts.changedNanos : 0, inode: file.facts.inode)
    }
}

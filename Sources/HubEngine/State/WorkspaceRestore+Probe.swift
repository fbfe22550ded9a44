import HubCore

/// How a restore finds what stands at each captured file's path, walking down from the
/// workspace without following symlinks.
extension WorkspaceRestore {
    /// Something that keeps a captured file from being put back exactly.
    struct Obstacle: Equatable {
        /// The captured file.
        var path: String
        /// What is in the way: the file's own path or one of its directories.
        var at: String
        /// What stands there: "a directory", "a symbolic link", "a file", "a special file", "the state directory".
        var what: String

        var json: JSONValue { ["path": .string(path), "in_the_way": .string(at), "what": .string(what)] }
        var sentence: String { at == path ? "\(at) is \(what)" : "\(at) (for \(path)) is \(what)" }
    }

    enum Probe {
        case missing, same, different
        case blocked(Obstacle)
    }

    /// What stands at `entry.path` now: nothing, the captured file, another file, or an obstacle.
    func probe(_ entry: CheckpointFile, root: DirectoryHandle) -> Probe {
        let parts = entry.path.split(separator: "/").map(String.init)
        var handle = root
        var walked = ""
        for (n, part) in parts.enumerated() {
            walked = Self.join(walked, part)
            func blocked(_ what: String) -> Probe { .blocked(Obstacle(path: entry.path, at: walked, what: what)) }
            if files.isExcluded(files.root + "/" + walked) { return blocked("the hub's state directory") }
            guard let facts = FileSystem.facts(of: part, in: handle) else { return .missing }
            let last = n == parts.count - 1
            switch facts.kind {
            case .symlink: return blocked("a symbolic link")
            case .other: return blocked("a special file")
            case .directory where last: return blocked("a directory")
            case .file where !last: return blocked("a file, not a directory")
            case .file:
                let same =
                    facts.size == entry.size && facts.mode == entry.mode
                    && FileSystem.readFile(part, in: handle, maximum: WorkspaceFiles.maximumBytes)
                        .map(Checksum.sha256) == entry.sha256
                return same ? .same : .different
            case .directory:
                guard case .success(let next) = FileSystem.openDirectory(part, in: handle) else {
                    return blocked("a directory that cannot be opened")
                }
                handle = next
            }
        }
        return .missing
    }

    /// The refusal for captured files that cannot be put back exactly.
    func blocked(_ obstacles: [Obstacle]) -> HubError {
        let shown = obstacles.prefix(10).map(\.sentence).joined(separator: "; ")
        let more = obstacles.count > 10 ? " and \(obstacles.count - 10) more" : ""
        return HubError(
            .pathNotAllowed,
            "Cannot restore \(obstacles.count) captured file(s) exactly, something is in the way: \(shown)\(more)",
            details:
                "A restore never writes through a symbolic link, over a directory or into the state directory, and never half-restores; nothing was changed.",
            context: ["workspace": .string(files.root), "in_the_way": .array(obstacles.prefix(100).map(\.json))],
            suggestions: [
                "Move what is in the way aside and run the same restore again",
                "Restore the state alone with strategy partial_restore",
            ])
    }
}

import Foundation
import HubCore

/// Path handling for the places where user input names a file: absolute paths,
/// and confinement to allowed roots with symlinks resolved (§6).
public enum Paths {
    /// `path` made absolute against `base` and normalized by name (empty and `.` components
    /// dropped, `..` taking away the one before it, as task files are), no symlink resolved:
    /// ``resolved(_:)`` does that. Foundation's `standardizingPath` resolved them, a relative
    /// link against the process's working directory, not the link's folder, so a backup named
    /// `evil/b.gz` (evil -> ../victim) went to <state>/victim when run from <state>/d.
    public static func absolute(_ path: String, relativeTo base: String) -> String {
        WorkTask.fileKey(path, workspace: base)
    }

    /// The real path: every symlink of the longest existing prefix resolved by `realpath(3)`,
    /// the rest appended. Not Foundation's `resolvingSymlinksInPath`: it resolved a relative
    /// link (`evil -> ../victim`) against the process's working directory, not the link's
    /// folder, so where a backup went, or whether it was refused, depended on the cwd.
    public static func resolved(_ absolute: String) -> String {
        var existing = absolute
        var rest: [String] = []
        var base = "/"
        while !existing.isEmpty {
            if let real = realPath(existing) {
                base = real
                break
            }
            guard existing != "/" else { break }
            rest.insert((existing as NSString).lastPathComponent, at: 0)
            existing = (existing as NSString).deletingLastPathComponent
        }
        for part in rest { base = (base as NSString).appendingPathComponent(part) }
        return base
    }

    /// `realpath(3)`: `nil` when the path (or a link on it) leads nowhere or cannot be read.
    private static func realPath(_ path: String) -> String? {
        guard let real = realpath(path, nil) else { return nil }
        defer { free(real) }
        return String(cString: real)
    }

    /// Whether `path` is `root` or inside it (both already resolved), comparing bytes: to
    /// `hasPrefix` a folder named in another Unicode normalization was the same folder.
    static func isInside(_ path: String, _ root: String) -> Bool {
        PathKey.isInside(path, root)
    }

    /// Whether `path` is `root` or inside it with names compared canonically (an NFC and an
    /// NFD `é` alike), for refusals: on a file system that does not tell them apart they
    /// are one file, and refusing one too many is the safe side.
    static func mayBeInside(_ path: String, _ root: String) -> Bool {
        let r = root.hasSuffix("/") ? String(root.dropLast()) : root
        return path == r || path.hasPrefix(r + "/")
    }

    /// Resolves a user-given location (relative to the state directory) and
    /// refuses it with `PATH_NOT_ALLOWED` unless it lies, symlinks resolved,
    /// inside the state directory or one of `allowedRoots`.
    static func confine(_ raw: String, field: String, stateDirectory: String, allowedRoots: [String]) throws(HubError)
        -> String
    {
        guard !raw.isEmpty, !raw.utf8.contains(0) else { throw HubError.parameter(field, "must be a non-empty path") }
        // A longer file name is refused by the file system itself, which would surface as STORE_UNAVAILABLE.
        guard raw.split(separator: "/").allSatisfy({ $0.utf8.count <= 255 }) else {
            throw HubError.parameter(field, "has a path component longer than 255 bytes")
        }
        // `..` after a symlinked directory climbs out of the link's target, not back to where it
        // was written: refused as written, whatever it would resolve to.
        if raw.split(separator: "/").contains("..") {
            throw HubError(
                .pathNotAllowed, "\(field) \"\(raw.prefix(256))\" has a '..' component",
                details: "Name the location without '..': where it leads depends on the symlinks along the way.",
                context: ["field": .string(field)],
                suggestions: ["Write the path without '..', e.g. \"backups/\((raw as NSString).lastPathComponent)\""])
        }
        let full = absolute(raw, relativeTo: stateDirectory)
        let real = resolved(full)
        let roots = ([stateDirectory] + allowedRoots).map { resolved(absolute($0, relativeTo: stateDirectory)) }
        guard roots.contains(where: { isInside(real, $0) }) else {
            throw HubError(
                .pathNotAllowed,
                "\(field) \"\(raw.prefix(256))\" resolves to \(real), outside the state directory and the allowed roots",
                details: "Locations must lie inside the state directory or a root listed in allowed_backup_roots.",
                context: ["field": .string(field), "resolved": .string(real), "allowed_roots": .strings(roots)],
                suggestions: [
                    "Use a path under \(roots.first ?? stateDirectory)",
                    "Add the directory to allowed_backup_roots in \(stateDirectory)/config.json",
                ])
        }
        // `resolved` follows every link that leads somewhere; one still on the path points
        // nowhere, and writing through it would create its target, wherever that is.
        var prefix = ""
        for part in real.split(separator: "/") {
            prefix += "/" + part
            if (try? FileManager.default.destinationOfSymbolicLink(atPath: prefix)) != nil {
                throw HubError(
                    .pathNotAllowed,
                    "\(field) \"\(raw.prefix(256))\" goes through \(prefix), a symbolic link whose target does not exist",
                    details: "Nothing is written through a link that points nowhere.",
                    context: ["field": .string(field), "resolved": .string(real)],
                    suggestions: ["Remove the link, or name another location"])
            }
        }
        return real
    }

    /// What the hub keeps in its state directory: the store and its journal files, the
    /// configuration, and the folders it writes (§6). A user-named file must be none of them.
    public static let ownedFolders: Set<String> = [
        "agent_pools", "checkpoints", "events", "journal", "journal.lock", "locks", "reports", "tmp", "workflows",
    ]

    /// Refuses a resolved file location that would replace one of the hub's own files
    /// (`PATH_NOT_ALLOWED`: a backup written over `hub.sqlite` destroyed the store), or
    /// whose parent cannot be a directory because a file stands in its place
    /// (`INVALID_PARAMETERS`, where writing would fail halfway).
    /// The names the configuration is read from in the state directory (HubCLI reads the
    /// first that exists): a bundle written over one would stop every later command.
    public static let configurationFiles = ["config.json", "config.yaml", "config.yml"]

    static func refuseHubFiles(_ path: String, field: String, stateDirectory: String, store: String? = nil)
        throws(HubError)
    {
        // The store the configuration names, wherever it is (and its -wal, -shm, -journal): a
        // bundle written over it destroyed every workflow.
        if let store {
            let database = resolved(absolute(store, relativeTo: stateDirectory))
            if path == database || (path.hasPrefix(database + "-") && !path.dropFirst(database.count).contains("/")) {
                throw HubError(
                    .pathNotAllowed, "\(field) \(path) would replace the hub's store",
                    details: "The configuration's store (\(database)) and its -wal and -shm files belong to the hub.",
                    context: ["field": .string(field), "resolved": .string(path)],
                    suggestions: ["Use a folder of its own, e.g. backups/"])
            }
        }
        let state = resolved(absolute(stateDirectory, relativeTo: "/"))
        if mayBeInside(path, state), path != state {
            let relative = path.dropFirst(state.count).split(separator: "/")
            let first = relative.first.map(String.init) ?? ""
            if ownedFolders.contains(first) || first.hasPrefix("hub.sqlite") || configurationFiles.contains(first) {
                throw HubError(
                    .pathNotAllowed, "\(field) \(path) would replace a file the hub keeps itself",
                    details:
                        "The store (hub.sqlite and its -wal and -shm), the configuration (config.json, config.yaml, config.yml) and the folders \(ownedFolders.sorted().joined(separator: ", ")) belong to the hub.",
                    context: ["field": .string(field), "resolved": .string(path)],
                    suggestions: ["Use a folder of its own, e.g. backups/"])
            }
        }
        var ancestor = (path as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        while ancestor.count > 1 {
            if FileManager.default.fileExists(atPath: ancestor, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else {
                    throw HubError.parameter(field, "passes through \(ancestor), which is a file, not a folder")
                }
                break
            }
            ancestor = (ancestor as NSString).deletingLastPathComponent
        }
    }
}

import HubCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The SHA-256 and size of a file of a workspace, read the way checkpoints read files:
/// never through a symbolic link (of the file or of any folder on its way from the
/// workspace), only a regular file, and a chunk at a time, so that evidence cannot make
/// the hub read (and answer the digest of) a file elsewhere on the machine, nor hold a
/// large one in memory.
enum WorkspaceFileDigest {
    enum Outcome: Equatable {
        case file(sha256: String, size: Int64)
        case missing
        /// Why the file is refused: a link on its way, or not a regular file.
        case refused(String)
    }

    /// Bytes read per call.
    static let chunk = 1 << 16

    /// The digest of `path` (`fileKey`-normalized, inside `root`).
    static func digest(of path: String, root: String) -> Outcome {
        // By bytes: to `hasPrefix` a folder named in another Unicode normalization was the workspace.
        let prefix = Array((root + "/").utf8)
        guard path.utf8.starts(with: prefix) else { return .refused("is the workspace itself, not a file in it") }
        let components = String(decoding: path.utf8.dropFirst(prefix.count), as: UTF8.self).split(separator: "/")
            .map(String.init)
        guard let name = components.last else { return .refused("names no file") }
        var directory: DirectoryHandle
        switch FileSystem.openDirectory(root) {
        case .success(let handle): directory = handle
        case .failure: return .missing
        }
        for (n, component) in components.dropLast().enumerated() {
            switch FileSystem.openDirectory(component, in: directory) {
            case .success(let next):
                directory = next
            case .failure(let error) where error.code == ENOENT:
                return .missing
            case .failure(let error) where error.code == ELOOP || error.code == ENOTDIR:
                let where_ = components[0...n].joined(separator: "/")
                return .refused("passes through \(where_), which is a link or not a folder")
            case .failure(let error):
                return .refused("cannot be opened: \(error.description)")
            }
        }
        let fd = openat(directory.fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            switch errno {
            case ENOENT: return .missing
            case ELOOP: return .refused("is a symbolic link; evidence is read from regular files only")
            default: return .refused("cannot be opened: \(String(cString: strerror(errno)))")
            }
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            return .refused("is not a regular file")
        }
        var running = Checksum.Running()
        var size: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: chunk)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, chunk) }
            if count < 0 {
                if errno == EINTR { continue }
                return .refused("cannot be read: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            buffer.withUnsafeBytes { running.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            size += Int64(count)
        }
        return .file(sha256: running.hex(), size: size)
    }
}

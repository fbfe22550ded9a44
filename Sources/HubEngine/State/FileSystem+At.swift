#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An open directory, closed when the last reference goes.
final class DirectoryHandle {
    let fd: Int32

    init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }
}

/// Calls relative to an open directory (`openat`, `fstatat`, `renameat`, `unlinkat`): a
/// restore walks to a file's directory one component at a time, refusing symlinks, and then
/// names only the file. No symlink in the path is followed, and the length of the whole path
/// never matters (only each name's).
extension FileSystem {
    /// Opens a directory by absolute path (its own symlinks resolved by the caller). `errno` on failure.
    static func openDirectory(_ path: String) -> Result<DirectoryHandle, Errno> {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        return fd >= 0 ? .success(DirectoryHandle(fd: fd)) : .failure(Errno(errno))
    }

    /// Opens the directory `name` inside `parent`; a symlink is `ELOOP` or `ENOTDIR`, never followed.
    static func openDirectory(_ name: String, in parent: DirectoryHandle) -> Result<DirectoryHandle, Errno> {
        let fd = openat(parent.fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        return fd >= 0 ? .success(DirectoryHandle(fd: fd)) : .failure(Errno(errno))
    }

    /// `fstatat` without following a symlink; `nil` when it cannot be read (usually: it does not exist).
    static func facts(of name: String, in directory: DirectoryHandle) -> FileFacts? {
        var st = stat()
        guard fstatat(directory.fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        return facts(st)
    }

    /// Creates the directory `name` in `parent` and fsyncs `parent`. An existing one is fine.
    static func makeDirectory(_ name: String, in parent: DirectoryHandle) -> Errno? {
        if mkdirat(parent.fd, name, mode_t(0o755)) == 0 { return fsync(parent.fd) == 0 ? nil : Errno(errno) }
        return errno == EEXIST ? nil : Errno(errno)
    }

    /// Reads the regular file `name` in `directory` (a symlink is refused), at most `maximum` bytes.
    static func readFile(_ name: String, in directory: DirectoryHandle, maximum: Int64) -> [UInt8]? {
        let fd = openat(directory.fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return readAll(fd, maximum: maximum)
    }

    /// Writes `bytes` whole to a new file `name` in `directory` with `mode`, fsynced; removes it on failure.
    static func writeNewFile(_ name: String, in directory: DirectoryHandle, _ bytes: [UInt8], mode: Int) -> Errno? {
        let fd = openat(directory.fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(0o600))
        guard fd >= 0 else { return Errno(errno) }
        let failure = writeAll(fd, bytes, mode: mode)
        close(fd)
        if failure != nil { unlinkat(directory.fd, name, 0) }
        return failure
    }

    /// Renames `source` over `destination`, both in `directory`, and fsyncs the directory.
    static func rename(_ source: String, over destination: String, in directory: DirectoryHandle) -> Errno? {
        guard renameat(directory.fd, source, directory.fd, destination) == 0 else { return Errno(errno) }
        return fsync(directory.fd) == 0 ? nil : Errno(errno)
    }

    /// Removes the file or symlink `name` (never what a symlink points to), or with
    /// `directory: true` the empty directory `name`, from `parent`, and fsyncs `parent`.
    static func remove(_ name: String, in parent: DirectoryHandle, directory: Bool = false) -> Errno? {
        guard unlinkat(parent.fd, name, directory ? AT_REMOVEDIR : 0) == 0 else { return Errno(errno) }
        return fsync(parent.fd) == 0 ? nil : Errno(errno)
    }

    /// The names in an open directory (without `.` and `..`), or `nil` when it cannot be read.
    static func names(in directory: DirectoryHandle) -> [String]? {
        // fdopendir takes the descriptor over; give it its own.
        let copy = fcntl(directory.fd, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0, let dir = fdopendir(copy) else { return nil }
        defer { closedir(dir) }
        // The copy shares the descriptor's position, where a listing before this one ended.
        rewinddir(dir)
        var names: [String] = []
        forEachEntryName(in: dir) { raw in
            let name = String(cString: raw)
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

/// An `errno` value, as data.
struct Errno: Error, Equatable {
    var code: Int32
    init(_ code: Int32) { self.code = code }

    static let nameTooLong = Errno(ENAMETOOLONG)
    /// Something other than a plain directory sits where a directory was expected.
    var isInTheWay: Bool { [ELOOP, ENOTDIR, EISDIR, EEXIST, ENOTEMPTY].contains(code) }
    var description: String { FileSystem.describe(code) }
}

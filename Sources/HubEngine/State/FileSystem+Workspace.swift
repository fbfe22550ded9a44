#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `lstat` says about a path (symlinks are not followed).
struct FileFacts: Equatable {
    enum Kind { case file, directory, symlink, other }
    var kind: Kind
    var size: Int64
    /// Permission bits only.
    var mode: Int
    var modifiedNanos: Int64
    var changedNanos: Int64
    var inode: Int64
}

/// The POSIX calls checkpoints need to capture and restore workspace files without
/// following symlinks and with every write fsynced.
extension FileSystem {
    /// `lstat` of `path`, or `nil` when it does not exist.
    static func facts(_ path: String) -> FileFacts? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return facts(st)
    }

    static func facts(_ st: stat) -> FileFacts {
        let type = st.st_mode & S_IFMT
        let kind: FileFacts.Kind =
            type == S_IFREG ? .file : type == S_IFDIR ? .directory : type == S_IFLNK ? .symlink : .other
        #if canImport(Darwin)
            let mtime = Int64(st.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(st.st_mtimespec.tv_nsec)
            let ctime = Int64(st.st_ctimespec.tv_sec) * 1_000_000_000 + Int64(st.st_ctimespec.tv_nsec)
        #else
            let mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
            let ctime = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
        #endif
        return FileFacts(
            kind: kind, size: Int64(st.st_size), mode: Int(st.st_mode & 0o777), modifiedNanos: mtime,
            changedNanos: ctime, inode: Int64(bitPattern: UInt64(st.st_ino)))
    }

    /// The entries of a directory (without `.` and `..`) with their `lstat` facts, or `nil`
    /// when it cannot be read. Each entry is looked up relative to the open directory
    /// (`fstatat`, by its raw bytes), not by walking its whole path again. A name that is not
    /// valid UTF-8 comes back with its bytes above 0x7F written `\xHH` and `utf8: false`:
    /// such a name cannot be stored as a path, and the escaped form names no real file.
    static func entriesWithFacts(_ directory: String) -> [(name: String, facts: FileFacts, utf8: Bool)]? {
        guard let dir = opendir(directory) else { return nil }
        defer { closedir(dir) }
        let fd = dirfd(dir)
        var out: [(name: String, facts: FileFacts, utf8: Bool)] = []
        forEachEntryName(in: dir) { raw in
            var st = stat()
            guard fstatat(fd, raw, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return }
            let found =
                String(validatingCString: raw).map { ($0, facts(st), true) } ?? (escaped(raw), facts(st), false)
            guard found.0 != "." && found.0 != ".." else { return }
            out.append(found)
        }
        return out
    }

    /// A name that is not UTF-8, shown with its bytes above 0x7F as `\xHH`.
    private static func escaped(_ raw: UnsafePointer<CChar>) -> String {
        var out = ""
        var p = raw
        while p.pointee != 0 {
            let byte = UInt8(bitPattern: p.pointee)
            if byte < 0x80 {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "\\x" + String(byte, radix: 16, uppercase: true)
            }
            p += 1
        }
        return out
    }

    /// Reads a regular file without following a symlink at its last component.
    static func readFile(_ path: String, maximum: Int64) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return readAll(fd, maximum: maximum)
    }

    /// Reads an open file to its end; `nil` on an error or past `maximum` bytes.
    static func readAll(_ fd: Int32, maximum: Int64) -> [UInt8]? {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { buffer in
                #if canImport(Glibc)
                    Glibc.read(fd, buffer.baseAddress, buffer.count)
                #else
                    Darwin.read(fd, buffer.baseAddress, buffer.count)
                #endif
            }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
            if Int64(out.count) > maximum { return nil }
        }
        return out
    }

    /// Writes `bytes` whole to an open file, sets `mode` and fsyncs it; `errno` on failure.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], mode: Int) -> Errno? {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                #if canImport(Glibc)
                    Glibc.write(fd, buffer.baseAddress.map { $0 + offset }, bytes.count - offset)
                #else
                    Darwin.write(fd, buffer.baseAddress.map { $0 + offset }, bytes.count - offset)
                #endif
            }
            if n < 0 {
                if errno != EINTR { return Errno(errno) }
            } else {
                offset += n
            }
        }
        // Permission bits only: a setuid, setgid or sticky bit is never written (a bundle's
        // checksums show it is intact, not who made it: one edited by hand made a world-writable
        // setuid file); captures record these bits alone too.
        if fchmod(fd, mode_t(mode & 0o777)) != 0 { return Errno(errno) }
        return fsync(fd) == 0 ? nil : Errno(errno)
    }

    /// A short description of an `errno` value.
    static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }
}

import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file held open with an exclusive `flock`: the lock lasts as long as the descriptor, so
/// it ends when the value goes or the process dies, however it dies (SIGKILL included).
final class LockedFile {
    let fd: Int32

    init(fd: Int32) { self.fd = fd }

    deinit {
        // Unlocked before it is closed: a child spawned while the descriptor was open shares
        // its open file, and with it the lock, until the child's exec closes its copy. Closing
        // ours alone would leave the lock held that long; unlocking ends it for every copy.
        flock(fd, LOCK_UN)
        close(fd)
    }

    /// The whole file, read from its start; `nil` on an error or past `maximum` bytes.
    func contents(maximum: Int64) -> [UInt8]? {
        guard lseek(fd, 0, SEEK_SET) == 0 else { return nil }
        return FileSystem.readAll(fd, maximum: maximum)
    }
}

/// What trying to lock an existing file found.
enum LockAttempt {
    case locked(LockedFile)
    /// Another open file holds the lock (a process that is alive).
    case busy
    /// The file is not there (any more), or was unlinked while we waited for it.
    case gone
    case failed(Errno)
}

extension FileSystem {
    /// Creates `name` in `directory` (never through a symlink, never over an existing file),
    /// locks it, writes `bytes` and fsyncs it. The caller renames it into place.
    ///
    /// A pass over the journals (``InterruptedRestores``) can lock the new file between its
    /// creation and our lock: it finds it empty, takes it for a killed restore's and removes it.
    /// That takes a moment, so the lock is waited for, and the file made again once it is gone.
    static func createLocked(_ name: String, in directory: DirectoryHandle, _ bytes: [UInt8]) -> Result<
        LockedFile, Errno
    > {
        for _ in 0..<3 {
            let fd = openat(directory.fd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(0o600))
            guard fd >= 0 else { return .failure(Errno(errno)) }
            let file = LockedFile(fd: fd)
            var locked = flock(fd, LOCK_EX | LOCK_NB) == 0
            if !locked && errno == EWOULDBLOCK {
                repeat { locked = flock(fd, LOCK_EX) == 0 } while !locked && errno == EINTR
                var st = stat()
                if locked && fstat(fd, &st) == 0 && st.st_nlink == 0 { continue }
            }
            if !locked || writeAll(fd, bytes, mode: 0o600) != nil {
                let code = Errno(errno)
                unlinkat(directory.fd, name, 0)
                return .failure(code)
            }
            return .success(file)
        }
        return .failure(Errno(EAGAIN))
    }

    /// Opens `name` in `directory` and takes its lock without waiting.
    static func lockExisting(_ name: String, in directory: DirectoryHandle) -> LockAttempt {
        let fd = openat(directory.fd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return errno == ENOENT ? .gone : .failed(Errno(errno)) }
        let file = LockedFile(fd: fd)
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            return errno == EWOULDBLOCK ? .busy : .failed(Errno(errno))
        }
        // Its holder may have finished and unlinked it between our open and our lock.
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .failed(Errno(errno)) }
        return st.st_nlink == 0 ? .gone : .locked(file)
    }

    /// Opens (creating it if need be) the lock file at `path` and takes its lock if no one holds it.
    static func lockIfFree(_ path: String) -> LockAttempt {
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode_t(0o600))
        guard fd >= 0 else { return .failed(Errno(errno)) }
        let file = LockedFile(fd: fd)
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            return errno == EWOULDBLOCK ? .busy : .failed(Errno(errno))
        }
        return .locked(file)
    }

    /// Opens (creating it if need be) the lock file at `path` and takes its lock, waiting for
    /// the process that holds it; `onWait` runs once before a wait. The wait blocks a thread
    /// of its own, not one of the cooperative pool.
    static func lockWaiting(_ path: String, onWait: () -> Void) async -> Result<LockedFile, Errno> {
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode_t(0o600))
        guard fd >= 0 else { return .failure(Errno(errno)) }
        let file = LockedFile(fd: fd)
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return .success(file) }
        guard errno == EWOULDBLOCK else { return .failure(Errno(errno)) }
        onWait()
        let failure = await withCheckedContinuation { (continuation: CheckedContinuation<Int32?, Never>) in
            DispatchQueue.global().async {
                var code: Int32?
                repeat { code = flock(fd, LOCK_EX) == 0 ? nil : errno } while code == EINTR
                continuation.resume(returning: code)
            }
        }
        return failure.map { .failure(Errno($0)) } ?? .success(file)
    }
}

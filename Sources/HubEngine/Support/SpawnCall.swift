import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The `posix_spawn` call behind ``SpawnedProcess``: the one place the platform's spawning
/// functions are named.
enum SpawnCall {
    static func spawn(
        _ executable: String, arguments: [String], environment: [String: String], directory: String?,
        streams: [SpawnedProcess.Stream]
    ) throws(SpawnError) -> Int32 {
        let failure = { (code: Int32) in SpawnError(code: code, executable: executable) }
        #if canImport(Glibc)
            var actions = posix_spawn_file_actions_t()
            var attributes = posix_spawnattr_t()
        #else
            var actions: posix_spawn_file_actions_t? = nil
            var attributes: posix_spawnattr_t? = nil
        #endif
        guard posix_spawn_file_actions_init(&actions) == 0 else { throw failure(errno) }
        defer { posix_spawn_file_actions_destroy(&actions) }
        guard posix_spawnattr_init(&attributes) == 0 else { throw failure(errno) }
        defer { posix_spawnattr_destroy(&attributes) }

        let nullDevice = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard nullDevice >= 0 else { throw failure(errno) }
        defer { close(nullDevice) }
        for (target, stream) in streams.enumerated() {
            let source: Int32
            switch stream {
            case .null: source = nullDevice
            case .descriptor(let fd): source = fd
            }
            // dup2 onto itself would leave close-on-exec set: the stream would close.
            let code =
                source == Int32(target)
                ? clearCloseOnExec(source) : posix_spawn_file_actions_adddup2(&actions, source, Int32(target))
            guard code == 0 else { throw failure(code) }
        }
        if let code = Actions.closeFrom(&actions, 3), code != 0 { throw failure(code) }
        if let directory {
            guard let code = Actions.changeDirectory(&actions, directory) else { throw failure(ENOSYS) }
            guard code == 0 else { throw failure(code) }
        }

        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        var flags = Int32(POSIX_SPAWN_SETPGROUP) | Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF)
        #if canImport(Darwin)
            flags |= Int32(POSIX_SPAWN_CLOEXEC_DEFAULT)
        #endif
        for code in [
            posix_spawnattr_setflags(&attributes, Int16(flags)),
            posix_spawnattr_setpgroup(&attributes, 0),
            posix_spawnattr_setsigmask(&attributes, &none),
            posix_spawnattr_setsigdefault(&attributes, &all),
        ] where code != 0 {
            throw failure(code)
        }

        let argv = ([executable] + arguments).map { strdup($0) }
        let envp = environment.map { strdup("\($0.key)=\($0.value)") }
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, &attributes, argv + [nil], envp + [nil])
        guard code == 0 else { throw failure(code) }
        return pid
    }

    /// The child keeps `fd` as it is (a stream that is already where it must be).
    private static func clearCloseOnExec(_ fd: Int32) -> Int32 {
        let flags = fcntl(fd, F_GETFD)
        guard flags >= 0 else { return errno }
        return fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) == 0 ? 0 : errno
    }

    /// How a process that `waitid` saw exit ended.
    static func termination(_ info: siginfo_t) -> SpawnedProcess.Termination {
        #if canImport(Glibc)
            let value = info._sifields._sigchld.si_status
        #else
            let value = info.si_status
        #endif
        return info.si_code == Int32(CLD_EXITED) ? .exited(value) : .signaled(value)
    }

    /// The file actions not every C library declares to Swift: found by name at run time.
    private enum Actions {
        #if canImport(Glibc)
            typealias Pointer = UnsafeMutablePointer<posix_spawn_file_actions_t>
        #else
            typealias Pointer = UnsafeMutablePointer<posix_spawn_file_actions_t?>
        #endif
        typealias CloseFrom = @convention(c) (Pointer, Int32) -> Int32
        typealias ChangeDirectory = @convention(c) (Pointer, UnsafePointer<CChar>) -> Int32

        /// Closes every descriptor from `lowest` on in the child (glibc 2.34); `nil` where
        /// there is no such action (Darwin's POSIX_SPAWN_CLOEXEC_DEFAULT does it there).
        static func closeFrom(_ actions: Pointer, _ lowest: Int32) -> Int32? {
            guard let function = lookUp("posix_spawn_file_actions_addclosefrom_np", as: CloseFrom.self) else {
                #if canImport(Glibc)
                    return ENOSYS
                #else
                    return nil
                #endif
            }
            return function(actions, lowest)
        }

        /// Changes the child's working directory (glibc 2.29, macOS 10.15).
        static func changeDirectory(_ actions: Pointer, _ directory: String) -> Int32? {
            guard let function = lookUp("posix_spawn_file_actions_addchdir_np", as: ChangeDirectory.self) else {
                return nil
            }
            return directory.withCString { function(actions, $0) }
        }

        private static func lookUp<F>(_ name: String, as type: F.Type) -> F? {
            #if canImport(Glibc)
                let handle = UnsafeMutableRawPointer(bitPattern: 0)  // RTLD_DEFAULT
            #else
                let handle = UnsafeMutableRawPointer(bitPattern: -2)  // RTLD_DEFAULT
            #endif
            guard let symbol = dlsym(handle, name) else { return nil }
            return unsafeBitCast(symbol, to: type)
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few platform calls the command line needs, in one place (DESIGN principle 8).
public enum Platform {
    /// Whether standard output is a terminal.
    public static var standardOutputIsTerminal: Bool { isatty(1) == 1 }

    /// Replaces this process by `path` (execve); returns errno when that fails.
    static func replaceProcess(with path: String, arguments: [String], environment: [String: String]) -> Int32 {
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        execve(path, argv, envp)
        let failure = errno
        for p in argv + envp { free(p) }
        return failure
    }
}

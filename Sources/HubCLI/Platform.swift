#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few platform calls the command line needs, in one place (DESIGN principle 8).
public enum Platform {
    /// Whether standard output is a terminal.
    public static var standardOutputIsTerminal: Bool { isatty(1) == 1 }

    /// The process's arguments after its name, each checked to be UTF-8. Swift's
    /// `CommandLine.arguments` repairs invalid bytes to U+FFFD, so a payload or path
    /// in another encoding would reach the hub silently altered; this answers the
    /// position (1-based) of the first argument that is not UTF-8 instead.
    public static func processArguments() -> Result<[String], ArgumentNotUTF8> {
        var arguments: [String] = []
        for n in 1..<Int(CommandLine.argc) {
            guard let pointer = CommandLine.unsafeArgv[n] else { break }
            guard let argument = String(validatingCString: pointer) else {
                return .failure(ArgumentNotUTF8(position: n))
            }
            arguments.append(argument)
        }
        return .success(arguments)
    }

    /// An argument whose bytes are not UTF-8, by its position after the program's name.
    public struct ArgumentNotUTF8: Error, Sendable {
        public let position: Int
    }

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

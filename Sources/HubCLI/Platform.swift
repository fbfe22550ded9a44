#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few platform calls the command line needs, in one place (DESIGN principle 8).
public enum Platform {
    /// Whether standard output is a terminal.
    public static var standardOutputIsTerminal: Bool { isatty(1) == 1 }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The platform file calls the engine needs, in one place (DESIGN principle 8).
enum FileSystem {
    /// Atomically replaces `destination` with `source` (POSIX `rename`). Returns `errno` on failure.
    static func rename(_ source: String, over destination: String) -> Int32? {
        #if canImport(Glibc)
            return Glibc.rename(source, destination) == 0 ? nil : errno
        #else
            return Darwin.rename(source, destination) == 0 ? nil : errno
        #endif
    }
}

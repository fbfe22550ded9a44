#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension FileSystem {
    /// Calls `body` with the name of each entry of the open directory stream `dir`, `.` and
    /// `..` included, read where `readdir` put it. A record is only as long as its name:
    /// copying `d_name` whole (256 bytes, what `entry.pointee.d_name` does) reads past the
    /// end of the stream's buffer, and crashes when that is the end of mapped memory.
    static func forEachEntryName(in dir: OpaquePointer, _ body: (UnsafePointer<CChar>) -> Void) {
        guard let offset = MemoryLayout<dirent>.offset(of: \dirent.d_name) else { return }
        while let entry = readdir(dir) {
            body((UnsafeRawPointer(entry) + offset).assumingMemoryBound(to: CChar.self))
        }
    }
}

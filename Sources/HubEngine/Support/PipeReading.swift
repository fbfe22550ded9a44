import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a pipe with `read(2)`, retrying when a signal interrupts it. Foundation's
/// `availableData` and `readDataToEndOfFile()` end the process (a forced try inside
/// Foundation) on `EINTR`, which
/// a process that starts and signals child processes can meet (seen in the test suite).
extension FileHandle {
    /// What is there now, waiting for at least one byte; empty at end of file.
    public func readAvailableRetryingInterrupts(maximum: Int = 65_536) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            let n = buffer.withUnsafeMutableBytes { bytes in
                #if canImport(Glibc)
                    Glibc.read(fileDescriptor, bytes.baseAddress, maximum)
                #else
                    Darwin.read(fileDescriptor, bytes.baseAddress, maximum)
                #endif
            }
            if n >= 0 { return Array(buffer.prefix(n)) }
            if errno != EINTR { return [] }
        }
    }

    /// Everything up to end of file, or the first chunk that takes it past `limit` bytes
    /// (so a caller can refuse an endless input without holding all of it).
    public func readToEndRetryingInterrupts(limit: Int = .max) -> [UInt8] {
        var all: [UInt8] = []
        while all.count <= limit {
            let chunk = readAvailableRetryingInterrupts()
            if chunk.isEmpty { return all }
            all += chunk
        }
        return all
    }
}

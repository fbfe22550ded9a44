import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Figures about this process, read from the operating system when asked.
enum ProcessFigures {
    /// Resident memory in bytes, or `nil` where it cannot be read.
    static func residentBytes() -> Int64? {
        #if os(Linux)
            guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
            let fields = text.split(separator: " ")
            guard fields.count > 1, let pages = Int64(fields[1]) else { return nil }
            return pages * Int64(sysconf(Int32(_SC_PAGESIZE)))
        #else
            return nil
        #endif
    }

    /// User plus system CPU time this process has used, in seconds.
    static func cpuSeconds() -> Double? {
        var usage = rusage()
        #if os(Linux)
            let who = RUSAGE_SELF.rawValue
        #else
            let who = RUSAGE_SELF
        #endif
        guard getrusage(Int32(who), &usage) == 0 else { return nil }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1_000_000 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

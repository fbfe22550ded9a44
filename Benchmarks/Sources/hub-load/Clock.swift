import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Time as the load generator reads it.
enum Clock {
    /// CLOCK_MONOTONIC in nanoseconds: one timeline for every process of the machine, so
    /// a child's timestamps and its parent's can be compared.
    static func monotonicNanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    #if os(Linux)
        private static func who(_ value: __rusage_who) -> __rusage_who_t { __rusage_who_t(value.rawValue) }
    #else
        private static func who(_ value: Int32) -> Int32 { value }
    #endif

    /// CPU time (user + system) this process has used so far, in seconds.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(who(RUSAGE_SELF), &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// CPU time (user + system) of this process's waited-for children, in seconds.
    static func childrenCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(who(RUSAGE_CHILDREN), &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

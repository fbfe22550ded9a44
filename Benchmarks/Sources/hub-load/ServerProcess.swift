import Foundation

/// The server's process as /proc shows it (Linux): its CPU time and memory.
struct ServerProcess: Sendable {
    let pid: Int32

    init(pid: Int32) throws(LoadError) {
        guard FileManager.default.fileExists(atPath: "/proc/\(pid)/status") else {
            throw LoadError("no process \(pid) in /proc (is the server running, on Linux?)")
        }
        self.pid = pid
    }

    /// User + system CPU seconds the server has used so far (/proc/PID/stat).
    func cpuSeconds() throws(LoadError) -> Double {
        let text = try read("stat")
        // The command name (field 2) is in parentheses and may hold spaces: count after it.
        guard let close = text.lastIndex(of: ")") else { throw LoadError("/proc/\(pid)/stat: unexpected format") }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // Fields 14 (utime) and 15 (stime) of proc(5); fields[0] here is field 3 (state).
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
            throw LoadError("/proc/\(pid)/stat: unexpected format")
        }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// VmRSS (resident now) and VmHWM (the peak) in KiB (/proc/PID/status).
    func memoryKiB() throws(LoadError) -> (rss: Int, hwm: Int) {
        let text = try read("status")
        func value(_ key: String) -> Int? {
            for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
                return Int(line.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces).split(separator: " ")[0])
            }
            return nil
        }
        guard let rss = value("VmRSS"), let hwm = value("VmHWM") else {
            throw LoadError("/proc/\(pid)/status has no VmRSS/VmHWM")
        }
        return (rss, hwm)
    }

    private func read(_ file: String) throws(LoadError) -> String {
        do {
            return try String(contentsOfFile: "/proc/\(pid)/\(file)", encoding: .utf8)
        } catch {
            throw LoadError("cannot read /proc/\(pid)/\(file): \(error.localizedDescription)")
        }
    }
}

/// The server's CPU use over a measured interval, when its pid is known.
struct CPUWatch {
    let server: ServerProcess?
    let serverStart: Double?
    let clientStart = Clock.processCPUSeconds() + Clock.childrenCPUSeconds()
    let wallStart = Clock.monotonicNanoseconds()

    init(server: ServerProcess?) {
        self.server = server
        self.serverStart = try? server?.cpuSeconds()
    }

    /// CPU seconds of the server and of this process (with its finished children) since
    /// the start, and the server's share of one core.
    func report() -> [String: Any] {
        let wall = Double(Clock.monotonicNanoseconds() - wallStart) / 1e9
        let client = Clock.processCPUSeconds() + Clock.childrenCPUSeconds() - clientStart
        var out: [String: Any] = [
            "wall_seconds": rounded(wall), "client_cpu_seconds": rounded(client),
            "machine_cores": ProcessInfo.processInfo.activeProcessorCount,
        ]
        if let server, let serverStart, let now = try? server.cpuSeconds() {
            out["server_cpu_seconds"] = rounded(now - serverStart)
            out["server_cores_busy"] = rounded((now - serverStart) / wall)
        }
        return out
    }
}

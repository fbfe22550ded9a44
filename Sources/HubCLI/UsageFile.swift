import Foundation
import HubCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a task's command may write what it used (`TASK_USAGE_FILE`): `{"tokens": N, "cost":
/// X}`, which the runner reports as the outcome's `usage` (§16), so token and cost budgets hold
/// for work the runner does (only wall time did: nothing else could tell the hub). The file
/// lives in a directory of its own, readable by this user only, removed once read.
struct UsageFile: Sendable {
    let directory: String
    var path: String { directory + "/usage.json" }

    /// The largest usage file read.
    static let largest = 4096

    /// A new private directory for one run, or `nil` when none could be made (the command then
    /// gets no `TASK_USAGE_FILE`).
    static func make() -> UsageFile? {
        var template = Array((NSTemporaryDirectory() + "/coordination-hub-usage-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { return nil }
        return UsageFile(directory: String(cString: made))
    }

    /// What the command wrote, removed with its directory: the usage to report (`nil` when it
    /// wrote nothing), or why what it wrote is not reported (the outcome still is).
    func take() -> (usage: JSONValue?, problem: String?) {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Opened without waiting and read only as a regular file: a command that made it a FIFO
        // (or a device) had the runner block in open for good, its task running, signals unheard.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            return errno == ENOENT ? (nil, nil) : (nil, "it cannot be opened: \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            return (nil, "it is not a regular file")
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        let data = (try? handle.read(upToCount: Self.largest + 1)) ?? Data()
        guard data.count <= Self.largest else { return (nil, "it is larger than \(Self.largest) bytes") }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return (nil, nil) }
        let usage: JSONValue
        do {
            usage = try JSONParser.parse(text)
            try Spend.usageSchema.validate(usage, path: "usage")
        } catch let error as HubError {
            return (nil, error.message)
        } catch {
            return (nil, "it is not JSON: \(error)")
        }
        return (usage, nil)
    }
}

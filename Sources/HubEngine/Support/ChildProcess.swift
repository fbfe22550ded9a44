import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs a command as a child process and keeps the tail of its output: the agent
/// runner's tasks, evidence checks and dependency checks (the one place processes are spawned).
public enum ChildProcess {
    public struct Outcome: Sendable {
        public var status: Int32
        public var tail: String
    }

    /// Most output read once the command has exited, from children it left running that
    /// still hold its output open.
    static let afterExit = 1 << 20

    /// Runs a check (`/bin/sh -c command`: evidence, a dependency) in `directory` for at most
    /// `limit`; one still running then is stopped (SIGTERM, SIGKILL after the grace) and
    /// answered with `timedOut`. The check goes with this process, however it goes
    /// (``Lifeline``): a killed command line left it running for good.
    public static func check(
        _ command: String, directory: String, tailBytes: Int, limit: Duration, grace: Duration = terminationGrace
    ) async -> (outcome: Outcome, timedOut: Bool) {
        await withTaskGroup(of: (Outcome, Bool)?.self) { group in
            group.addTask {
                let outcome = await run(
                    ["/bin/sh", "-c", command], environment: ProcessInfo.processInfo.environment,
                    directory: directory, tailBytes: tailBytes, grace: grace, lifeline: true)
                return (outcome, false)
            }
            group.addTask {
                do { try await Task.sleep(for: limit) } catch { return nil }
                return (Outcome(status: -1, tail: ""), true)
            }
            var timedOut = false
            while let next = await group.next() {
                guard let (outcome, expired) = next else { continue }
                if expired {
                    // The command's task, cancelled, stops it and answers with the signal's status.
                    timedOut = true
                    group.cancelAll()
                    continue
                }
                group.cancelAll()
                return (outcome, timedOut)
            }
            return (Outcome(status: -1, tail: ""), timedOut)
        }
    }

    /// How long a cancelled command has to end after SIGTERM before it gets SIGKILL.
    public static let terminationGrace = Duration.seconds(5)

    /// Runs `arguments` (an absolute path or a name looked up by `/usr/bin/env`) in
    /// `directory` and waits for it to exit. Only the last `tailBytes` of its output are
    /// kept, however much it writes; the command is done when it exits, even when a child
    /// it started in the background still holds its output open (`sleep 60 &`): what it
    /// left running in its process group is then stopped, as a cancelled command's is. A
    /// `directory` that is not there fails the command rather than running it elsewhere.
    ///
    /// Cancelling the calling task stops the command: SIGTERM to its process group (so
    /// what it started goes too), SIGKILL after `grace` if it is still there; the outcome
    /// is then the signal's (143 or 137). A task cancelled before the command starts does
    /// not start it.
    ///
    /// With `lifeline` (Linux), the command goes when this process goes, SIGKILL included:
    /// see ``Lifeline``. An absolute path that is not an executable file is then refused
    /// here (127), as Foundation refuses it without one.
    public static func run(
        _ arguments: [String], environment: [String: String], directory: String?, tailBytes: Int,
        grace: Duration = terminationGrace, lifeline: Bool = false
    ) async -> Outcome {
        guard let first = arguments.first else { return Outcome(status: 127, tail: "no command") }
        guard !Task.isCancelled else { return Outcome(status: 130, tail: "cancelled before \(first) started") }
        var command = first.hasPrefix("/") ? arguments : ["/usr/bin/env"] + arguments
        if let directory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
            else {
                return Outcome(status: 127, tail: "cannot start \(first): the directory \(directory) does not exist")
            }
        }
        var line: Lifeline?
        if lifeline, let made = Lifeline.make() {
            guard FileManager.default.isExecutableFile(atPath: command[0]) else {
                made.closeChildEnd()
                made.finish()
                return Outcome(status: 127, tail: "cannot start \(first): not an executable file")
            }
            line = made
            command = Lifeline.wrapper + command
        }
        // Closed whatever happens below: the socket's own end once the command is over, which
        // tells the watcher to go quietly.
        defer { line?.finish() }
        let pipe = Pipe()
        // Written once the command has exited: the reader then takes what is there and stops.
        let exited = Pipe()
        defer {
            for handle in [pipe.fileHandleForReading, exited.fileHandleForReading, exited.fileHandleForWriting] {
                try? handle.close()
            }
        }
        let output = SpawnedProcess.Stream.descriptor(pipe.fileHandleForWriting.fileDescriptor)
        let process: SpawnedProcess
        do {
            process = try SpawnedProcess.spawn(
                command[0], arguments: Array(command.dropFirst()), environment: environment, directory: directory,
                standardInput: line.map { .descriptor($0.childEnd) } ?? .null, standardOutput: output,
                standardError: output)
        } catch {
            line?.closeChildEnd()
            try? pipe.fileHandleForWriting.close()
            return Outcome(status: 127, tail: "cannot start \(first): \(error)")
        }
        // The child has its copies; this process keeps only its own ends.
        line?.closeChildEnd()
        try? pipe.fileHandleForWriting.close()
        let reading = pipe.fileHandleForReading.fileDescriptor
        let wake = exited.fileHandleForReading.fileDescriptor
        async let tail = withCheckedContinuation { (continuation: CheckedContinuation<[UInt8], Never>) in
            onThreadOfItsOwn {
                continuation.resume(returning: readTail(reading, until: wake, keeping: tailBytes))
            }
        }
        let stopped = GroupStop()
        let status = await withTaskCancellationHandler {
            let status = await process.exited().status
            exited.fileHandleForWriting.write(Data([1]))
            return status
        } onCancel: {
            terminate(process, grace: grace, stopped: stopped)
        }
        var left = ""
        if !stopped.wasAsked, ProcessGroup.hasLiveMembers(process.processIdentifier) {
            // Exited, but what it started in the background still runs in its group: stopped
            // too, as a cancelled command's is, so nothing of a finished task goes on writing
            // the files the next task is given (`setsid` keeps a process out of this).
            stopGroup(process.processIdentifier, grace: grace, stopped: stopped)
            left = "\n[coordination-hub: the command left processes running in its process group; they were stopped]"
        }
        // Stopped: the shell may be gone while what it started still runs (dash forks the
        // command); over only once the whole group is, so a retry never runs beside it.
        if stopped.wasAsked { await stopped.waitUntilGone() }
        return Outcome(
            status: status, tail: Self.keepingEnd(String(decoding: await tail, as: UTF8.self) + left, tailBytes))
    }

    /// `text` cut to its last `bytes` bytes, as the tail itself is.
    static func keepingEnd(_ text: String, _ bytes: Int) -> String {
        text.utf8.count > bytes ? String(decoding: Array(text.utf8.suffix(max(0, bytes))), as: UTF8.self) : text
    }

    /// Runs `work`, which blocks (waiting for a command, reading its output), on a thread of
    /// its own. On Linux Dispatch's global queues share their threads, as many as there are
    /// cores, with Swift's tasks: each running command held two of them, and on a small
    /// machine every task of the process (the agent runner's reaction to a signal among
    /// them) then waited until Dispatch added a thread, a second or more later.
    static func onThreadOfItsOwn(_ work: @escaping @Sendable () -> Void) {
        Thread.detachNewThread(work)
    }

    /// Sends SIGTERM to the command's process group (``SpawnedProcess`` starts each command
    /// in a group of its own), then SIGKILL after `grace` unless the group is gone by then.
    /// Nothing is sent once the command has exited and left no member behind.
    ///
    /// The group is followed until none of its members but the lifeline's watcher lives (the
    /// shell that ran the command may exit at SIGTERM while the command it forked goes on):
    /// SIGKILL goes to the group after `grace` if any does, and `stopped` is told when the
    /// group is gone.
    static func terminate(_ process: SpawnedProcess, grace: Duration, stopped: GroupStop) {
        guard process.isRunning else {
            stopped.asked()
            stopped.gone()
            return
        }
        stopGroup(process.processIdentifier, grace: grace, stopped: stopped)
    }

    /// SIGTERM to process group `pid`, SIGKILL after `grace` if a member (but the lifeline's
    /// watcher) is still there; `stopped` is told when none is.
    static func stopGroup(_ pid: Int32, grace: Duration, stopped: GroupStop) {
        stopped.asked()
        kill(-pid, SIGTERM)
        let (seconds, attoseconds) = grace.components
        let killAt = DispatchTime.now() + Double(seconds) + Double(attoseconds) / 1e18
        // After SIGKILL, a member the kernel has not let go of yet is waited for a little more.
        let giveUpAt = killAt + 2
        onThreadOfItsOwn {
            var killed = false
            while true {
                let now = DispatchTime.now()
                if !ProcessGroup.hasLiveMembers(pid) || now >= giveUpAt { break }
                if now >= killAt && !killed {
                    kill(-pid, SIGKILL)
                    killed = true
                }
                usleep(20_000)
            }
            stopped.gone()
        }
    }

    /// Reads `fd` until its end, or until `wake` is readable (the command exited) and what
    /// is already there has been read (at most ``afterExit`` more bytes); answers the last
    /// `keeping` bytes.
    static func readTail(_ fd: Int32, until wake: Int32, keeping: Int) -> [UInt8] {
        var tail = TailBuffer(capacity: keeping)
        let chunk = 1 << 16
        var buffer = [UInt8](repeating: 0, count: chunk)
        var afterExit: Int?
        while true {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            if afterExit == nil { fds.append(pollfd(fd: wake, events: Int16(POLLIN), revents: 0)) }
            // Once the command has exited, only what is already there: no waiting.
            let ready = poll(&fds, nfds_t(fds.count), afterExit == nil ? -1 : 0)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            if afterExit != nil && ready == 0 { break }
            if fds.count > 1 && fds[1].revents != 0 { afterExit = 0 }
            guard fds[0].revents != 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, chunk) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            buffer.withUnsafeBufferPointer { tail.append(UnsafeBufferPointer(rebasing: $0[0..<count])) }
            if let read = afterExit {
                afterExit = read + count
                if read + count >= Self.afterExit { break }
            }
        }
        return tail.bytes
    }
}

/// What makes a command die with the process that started it, even by SIGKILL, which
/// leaves no chance to stop it (Linux). The command is started through `/bin/sh`, which
/// leaves a watcher in the command's process group and then executes the command: the
/// watcher reads the child's end of a socket pair whose other end only this process holds
/// (it is close-on-exec). When the command is over, this process writes a line and the
/// watcher leaves quietly; when this process dies first, the kernel closes its end, the
/// watcher reads the end of the stream and sends SIGTERM to the group, then SIGKILL after
/// ``ChildProcess/terminationGrace``. A socket and not a pipe: writing to a watcher that
/// has gone must not raise SIGPIPE here (`MSG_NOSIGNAL`), and SIGPIPE cannot be ignored
/// process-wide without the commands inheriting that.
struct Lifeline: Sendable {
    /// This process's end.
    let ownEnd: Int32
    /// The child's end, its standard input (the command itself gets `/dev/null`).
    let childEnd: Int32

    /// `sh -c SCRIPT sh command…`: the watcher ignores the SIGTERM it sends, so it can follow with SIGKILL.
    static let wrapper = [
        "/bin/sh", "-c",
        """
        exec 3<&0 </dev/null
        ( trap '' TERM; read -r _ <&3 || { kill -TERM 0; sleep \(ChildProcess.terminationGrace.components.seconds); kill -KILL 0; } ) >/dev/null 2>&1 &
        exec "$@" 3<&-
        """,
        "sh",
    ]

    /// A new socket pair, both ends close-on-exec (the child's end is duplicated onto its
    /// standard input, which is not); `nil` where there is none (not Linux), and the command
    /// then runs without a lifeline.
    static func make() -> Lifeline? {
        #if os(Linux)
            var ends: [Int32] = [-1, -1]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
                return nil
            }
            return Lifeline(ownEnd: ends[0], childEnd: ends[1])
        #else
            return nil
        #endif
    }

    /// Closes the child's end here, once the child has its copy (or will not start); called once.
    func closeChildEnd() { Self.close(childEnd) }

    /// Tells the watcher the command is over (it may have gone: no SIGPIPE) and closes this
    /// process's end; called once, when the command is over or did not start.
    func finish() {
        #if os(Linux)
            var line: UInt8 = 10
            _ = send(ownEnd, &line, 1, Int32(MSG_NOSIGNAL))
        #endif
        Self.close(ownEnd)
    }

    private static func close(_ fd: Int32) {
        #if canImport(Glibc)
            _ = Glibc.close(fd)
        #elseif canImport(Darwin)
            _ = Darwin.close(fd)
        #endif
    }
}

/// The last `capacity` bytes of everything appended, in order, in at most twice that
/// much memory.
struct TailBuffer {
    let capacity: Int
    private var storage: [UInt8] = []

    init(capacity: Int) { self.capacity = max(0, capacity) }

    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard capacity > 0 else { return }
        if bytes.count >= capacity {
            storage = Array(bytes[(bytes.count - capacity)...])
            return
        }
        storage.append(contentsOf: bytes)
        if storage.count > 2 * capacity { storage.removeFirst(storage.count - capacity) }
    }

    var bytes: [UInt8] { Array(storage.suffix(capacity)) }
}

/// A stop asked of a command, and when its process group is gone.
final class GroupStop: Sendable {
    private struct State {
        var asked = false
        var gone = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    func asked() { state.withLock { $0.asked = true } }
    var wasAsked: Bool { state.withLock { $0.asked } }

    func gone() {
        state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.gone = true
            defer { s.waiter = nil }
            return s.waiter
        }?.resume()
    }

    func waitUntilGone() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.gone { return true }
                s.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }
}

/// The members of a process group, read from `/proc` (Linux).
enum ProcessGroup {
    /// Whether a process of group `pgid` still runs: not a zombie (the shell that led the
    /// group is reaped only later), not the lifeline's watcher (it waits for this process).
    static func hasLiveMembers(_ pgid: Int32) -> Bool {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else {
            return kill(-pgid, 0) == 0
        }
        for entry in entries {
            guard let pid = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // pid (comm) state ppid pgrp …: the name may hold spaces and parentheses.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, Int32(fields[2]) == pgid, fields[0] != "Z" else { continue }
            if isWatcher(pid) { continue }
            return true
        }
        return false
    }

    /// Whether `pid` is a lifeline watcher: the wrapper's shell, forked, still reading its socket.
    static func isWatcher(_ pid: Int32) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        return String(decoding: data, as: UTF8.self).contains("read -r _ <&3")
    }
}

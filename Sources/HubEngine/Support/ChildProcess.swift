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

    /// How long a cancelled command has to end after SIGTERM before it gets SIGKILL.
    public static let terminationGrace = Duration.seconds(5)

    /// Runs `arguments` (an absolute path or a name looked up by `/usr/bin/env`) in
    /// `directory` and waits for it to exit. Only the last `tailBytes` of its output are
    /// kept, however much it writes; the command is done when it exits, even when a child
    /// it started in the background still holds its output open (`sleep 60 &`). A
    /// `directory` that is not there fails the command rather than running it elsewhere.
    ///
    /// Cancelling the calling task stops the command: SIGTERM to its process group (so
    /// what it started goes too), SIGKILL after `grace` if it is still there; the outcome
    /// is then the signal's (143 or 137). A task cancelled before the command starts does
    /// not start it.
    public static func run(
        _ arguments: [String], environment: [String: String], directory: String?, tailBytes: Int,
        grace: Duration = terminationGrace
    ) async -> Outcome {
        guard let first = arguments.first else { return Outcome(status: 127, tail: "no command") }
        guard !Task.isCancelled else { return Outcome(status: 130, tail: "cancelled before \(first) started") }
        let process = Process()
        if first.hasPrefix("/") {
            process.executableURL = URL(fileURLWithPath: first)
            process.arguments = Array(arguments.dropFirst())
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = arguments
        }
        process.environment = environment
        if let directory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
            else {
                return Outcome(status: 127, tail: "cannot start \(first): the directory \(directory) does not exist")
            }
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        // Written once the command has exited: the reader then takes what is there and stops.
        let exited = Pipe()
        do {
            try process.run()
        } catch {
            return Outcome(status: 127, tail: "cannot start \(first): \(error.localizedDescription)")
        }
        let output = pipe.fileHandleForReading.fileDescriptor
        let wake = exited.fileHandleForReading.fileDescriptor
        async let tail = withCheckedContinuation { (continuation: CheckedContinuation<[UInt8], Never>) in
            DispatchQueue.global().async {
                continuation.resume(returning: readTail(output, until: wake, keeping: tailBytes))
            }
        }
        let pid = process.processIdentifier
        let over = ExitMark()
        let status = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
                DispatchQueue.global().async {
                    // Foundation reports an exit only once the output is closed, which a child left
                    // in the background can put off for ever; waitid sees the exit itself (and,
                    // with WNOWAIT, leaves the process for Foundation to reap).
                    let status =
                        exitStatus(of: pid)
                        ?? {
                            process.waitUntilExit()
                            return process.terminationReason == .uncaughtSignal
                                ? 128 + process.terminationStatus : process.terminationStatus
                        }()
                    over.set()
                    exited.fileHandleForWriting.write(Data([1]))
                    continuation.resume(returning: status)
                }
            }
        } onCancel: {
            terminate(pid, unless: over, grace: grace)
        }
        let text = String(decoding: await tail, as: UTF8.self)
        // Closed here, not left to Foundation, which keeps them (a runner held one per task it
        // ran, and a writer its command left behind blocked on a pipe nobody read).
        for handle in [pipe.fileHandleForReading, exited.fileHandleForReading, exited.fileHandleForWriting] {
            try? handle.close()
        }
        return Outcome(status: status, tail: text)
    }

    /// Sends SIGTERM to the command's process group (Foundation starts each command in a
    /// group of its own; the command alone when it is not), then SIGKILL after `grace`
    /// unless it has exited by then. Nothing is sent once `over` is set: the pid may be
    /// another process's by then.
    static func terminate(_ pid: Int32, unless over: ExitMark, grace: Duration) {
        guard pid > 0, !over.isSet else { return }
        let target = getpgid(pid) == pid ? -pid : pid
        kill(target, SIGTERM)
        let (seconds, attoseconds) = grace.components
        let delay = Double(seconds) + Double(attoseconds) / 1e18
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) {
            if !over.isSet { kill(target, SIGKILL) }
        }
    }

    /// Waits for `pid` to exit and answers its status (128 + the signal when a signal
    /// ended it), without reaping it; `nil` when it cannot be waited for here (already
    /// reaped).
    static func exitStatus(of pid: Int32) -> Int32? {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 {
            if errno != EINTR { return nil }
        }
        let code = info.si_code
        let value = info._sifields._sigchld.si_status
        return code == Int32(CLD_EXITED) ? value : 128 + value
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

/// Set once a command has exited, so a late stop signals nothing.
final class ExitMark: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .acquiring) }
    func set() { flag.store(true, ordering: .releasing) }
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

import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A child process started with `posix_spawn`: what the hub runs (tasks, evidence and
/// dependency checks) and what the tests start (the executable itself).
///
/// Not Foundation's `Process`: on Linux it lists `/proc/self/fd` before each start and
/// copies every entry's whole 256-byte name field, reading past the end of the directory
/// buffer, which crashes the process once it has some 1,360 descriptors open (a test run
/// with many stores open did); it also changes the whole process's working directory to
/// start a child in another one. Here the child closes what it must not inherit itself
/// (`closefrom`), changes its own directory, starts in a process group of its own, with no
/// signal blocked and every signal's action the default (an ignored SIGPIPE is not passed
/// on), and a thread of its own waits for it.
public final class SpawnedProcess: Sendable {
    /// Where one of the child's standard streams goes.
    public enum Stream: Sendable {
        /// `/dev/null`.
        case null
        /// A descriptor of this process, duplicated onto the stream (this process keeps its own).
        case descriptor(Int32)
    }

    /// How the process ended.
    public enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)

        /// The shell's convention: the exit status, or 128 + the signal.
        public var status: Int32 {
            switch self {
            case .exited(let code): code
            case .signaled(let signal): 128 + signal
            }
        }
    }

    public let processIdentifier: Int32
    private let state = Mutex(State())
    private let exitCondition = NSCondition()

    private struct State {
        var termination: Termination?
        var waiters: [CheckedContinuation<Termination, Never>] = []
    }

    private init(pid: Int32) { processIdentifier = pid }

    /// Starts `executable` (a path; no search) with `arguments` (not counting its name) and
    /// exactly `environment`, in `directory` (this process's when `nil`).
    public static func spawn(
        _ executable: String, arguments: [String], environment: [String: String], directory: String? = nil,
        standardInput: Stream = .null, standardOutput: Stream = .null, standardError: Stream = .null
    ) throws(SpawnError) -> SpawnedProcess {
        let pid = try SpawnCall.spawn(
            executable, arguments: arguments, environment: environment, directory: directory,
            streams: [standardInput, standardOutput, standardError])
        let process = SpawnedProcess(pid: pid)
        Thread.detachNewThread { process.reap() }
        return process
    }

    /// Whether the process has not exited yet.
    public var isRunning: Bool { state.withLock { $0.termination == nil } }

    /// How it ended, `nil` while it runs.
    public var termination: Termination? { state.withLock { $0.termination } }

    /// Foundation's `terminationStatus`: the exit status, or the signal that ended it; 0 while it runs.
    public var terminationStatus: Int32 {
        switch termination {
        case .exited(let code): code
        case .signaled(let signal): signal
        case nil: 0
        }
    }

    /// Sends `signal` unless the process has exited (its pid may be another's by then);
    /// answers whether it was sent.
    @discardableResult
    public func send(_ signal: Int32) -> Bool {
        state.withLock { s in s.termination == nil && kill(processIdentifier, signal) == 0 }
    }

    /// SIGTERM.
    public func terminate() { send(SIGTERM) }
    /// SIGINT.
    public func interrupt() { send(SIGINT) }

    /// Blocks the calling thread until the process has exited.
    public func waitUntilExit() {
        exitCondition.lock()
        while isRunning { exitCondition.wait() }
        exitCondition.unlock()
    }

    /// Waits, suspended, until the process has exited.
    @discardableResult
    public func exited() async -> Termination {
        await withCheckedContinuation { continuation in
            let done = state.withLock { s -> Termination? in
                if let t = s.termination { return t }
                s.waiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    /// Waits for the exit without reaping, records it (from then on nothing is signalled),
    /// then reaps: the pid stays this process's until no signal can be sent to it.
    private func reap() {
        var info = siginfo_t()
        var termination = Termination.exited(-1)
        while true {
            if waitid(P_PID, id_t(processIdentifier), &info, WEXITED | WNOWAIT) == 0 {
                termination = SpawnCall.termination(info)
                break
            }
            if errno != EINTR { break }
        }
        let waiters = state.withLock { s in
            s.termination = termination
            defer { s.waiters = [] }
            return s.waiters
        }
        var status: Int32 = 0
        while waitpid(processIdentifier, &status, 0) < 0 && errno == EINTR {}
        exitCondition.lock()
        exitCondition.broadcast()
        exitCondition.unlock()
        for waiter in waiters { waiter.resume(returning: termination) }
    }
}

/// Why a process could not be started.
public struct SpawnError: Error, Sendable, CustomStringConvertible {
    public let code: Int32
    public let executable: String

    public var description: String {
        let reason = String(cString: strerror(code))
        return code == ENOENT ? "\(executable): no such file or directory" : "\(executable): \(reason)"
    }
}

import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension Platform {
    /// SIGINT and SIGTERM, every delivery counted: the process's handler for them only
    /// writes the signal's number to a pipe (`write` is safe in a signal handler), and a
    /// thread of its own reads the pipe and tells each listener, once per delivery.
    ///
    /// Not Dispatch's signal sources: on Linux libdispatch catches a signal on whichever
    /// thread takes it and sends it again to a thread of its own, where one sent meanwhile
    /// merges with it, and deliveries that come before a source's handler has run are
    /// handled as one; a second SIGTERM right after the first was lost so. Signals belong to
    /// the process, so their listeners are the process's too.
    enum Signals {
        /// The pipe the handler writes to and the reader reads; made before any handler can
        /// need it (`-1`s when the process has no descriptor left).
        private static let pipeEnds: (read: Int32, write: Int32) = {
            var ends: [Int32] = [-1, -1]
            guard pipe(&ends) == 0 else { return (-1, -1) }
            for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            // A handler never blocks: a full pipe (64 KiB of signals unread) drops the rest.
            _ = fcntl(ends[1], F_SETFL, O_NONBLOCK)
            return (ends[0], ends[1])
        }()

        private struct Listeners {
            var next = 0
            var all: [Int: @Sendable (Int32) -> Void] = [:]
            var installed = false
        }
        private static let listeners = Mutex(Listeners())

        /// Calls `listener` with the signal's number for each SIGINT, SIGTERM and SIGHUP from
        /// now on, instead of letting them end the process. Answers `false`, and changes
        /// nothing, when no pipe could be made: the signals then end the process as usual.
        @discardableResult
        static func listen(_ listener: @escaping @Sendable (Int32) -> Void) -> Bool {
            let ends = pipeEnds
            guard ends.read >= 0 else { return false }
            let install = listeners.withLock { state -> Bool in
                state.next += 1
                state.all[state.next] = listener
                defer { state.installed = true }
                return !state.installed
            }
            guard install else { return true }
            Thread.detachNewThread { relay(from: ends.read) }
            // SIGHUP (the terminal or ssh session closing) ended the process at once, before a
            // runner could give its tasks back or set its agent offline: it stops as SIGTERM does —
            // unless it was ignored when the process started (nohup), which stays so.
            let hangup = signal(SIGHUP, SIG_IGN)
            let hangupIgnored = unsafeBitCast(hangup, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
            for sig in hangupIgnored ? [SIGINT, SIGTERM] : [SIGINT, SIGTERM, SIGHUP] {
                // A handler, not SIG_IGN: an ignored signal stays ignored in the commands the agent
                // runner starts, and they could then not be stopped with SIGTERM.
                signal(sig) { sig in
                    let saved = errno
                    var number = UInt8(truncatingIfNeeded: sig)
                    _ = write(Platform.Signals.pipeEnds.write, &number, 1)
                    errno = saved
                }
            }
            return true
        }

        /// Reads the pipe for as long as the process lives, telling the listeners of each byte.
        private static func relay(from fd: Int32) {
            var number: UInt8 = 0
            while true {
                let count = read(fd, &number, 1)
                if count == 1 {
                    for listener in listeners.withLock({ Array($0.all.values) }) { listener(Int32(number)) }
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}

extension CommandLineTool {
    /// Calls `listener` with the signal's number for each SIGINT and SIGTERM from now on,
    /// instead of letting them end the process (``Platform/Signals``: no delivery lost, and
    /// not ignored, so the commands the process starts can still be stopped with them).
    /// Answers `false` when it cannot, and the signals then end the process as usual.
    @discardableResult
    public static func onStopSignals(_ listener: @escaping @Sendable (Int32) -> Void) -> Bool {
        Platform.Signals.listen(listener)
    }
}

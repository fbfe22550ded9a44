import Foundation
import HubTesting
import Testing

@testable import HubEngine

#if canImport(Glibc)
    import Glibc
#endif

@Suite(.timeLimit(.minutes(1))) struct ChildProcessTests {
    static let environment = ProcessInfo.processInfo.environment

    /// What the command writes to the FIFO at `fifo`, read to its end on a thread of its own
    /// (opening a FIFO blocks until the writer opens it too).
    static func read(fifo: String) async -> String {
        await withCheckedContinuation { continuation in
            Thread {
                let reader = FileHandle(forReadingAtPath: fifo)
                let bytes = reader?.readToEndRetryingInterrupts(limit: 100) ?? []
                continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
            }.start()
        }
    }

    @Test func onlyTheTailOfALargeOutputIsKept() async {
        let outcome = await ChildProcess.run(
            ["/bin/sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' x; printf END"], environment: Self.environment,
            directory: nil, tailBytes: 100)
        #expect(outcome.status == 0)
        #expect(outcome.tail.count == 100)
        #expect(outcome.tail.hasSuffix("xxEND"))
    }

    /// A command is done when it exits: a child it left in the background with the output
    /// still open kept the runner waiting for as long as that child lived. One in a session
    /// of its own (`setsid`) is left running, as the documentation says.
    @Test func aBackgroundChildDoesNotHoldTheCommandOpen() async throws {
        let directory = try TemporaryDirectory("child-setsid")
        defer { directory.remove() }
        let ready = directory.file("ready")
        #expect(mkfifo(ready, 0o600) == 0)
        // The shell exits only once the sleep has left its group (it says so through the FIFO).
        let script = "setsid sh -c 'echo $$ > \(ready); exec sleep 1000' & read pid < '\(ready)'; echo started $pid"
        let outcome = await ChildProcess.run(
            ["/bin/sh", "-c", script], environment: Self.environment, directory: nil, tailBytes: 100)
        #expect(outcome.status == 0)
        #expect(outcome.tail.hasPrefix("started "), "\(outcome.tail)")
        #expect(!outcome.tail.contains("were stopped"), "\(outcome.tail)")
        if let pid = Int32(outcome.tail.dropFirst("started ".count).prefix { $0.isNumber }) { kill(pid, SIGKILL) }
    }

    /// What a command leaves running in its process group when it exits is stopped with it,
    /// and its output says so: it went on after the task was over (writing the files the
    /// next task was given).
    @Test func whatACommandLeavesRunningInItsGroupIsStopped() async throws {
        let directory = try TemporaryDirectory("child-left")
        defer { directory.remove() }
        let fifo = directory.file("left")
        #expect(mkfifo(fifo, 0o600) == 0)
        // The shell opens the FIFO (waiting for the reader), the background sleep inherits it.
        let run = Task {
            await ChildProcess.run(
                ["/bin/sh", "-c", "exec 3> '\(fifo)'; sleep 600 >&3 & echo started"], environment: Self.environment,
                directory: nil, tailBytes: 200, grace: .milliseconds(500))
        }
        // Blocks until the sleep has ended (without the stop: until the time limit).
        let said = await Self.read(fifo: fifo)
        #expect(said == "")
        let outcome = await run.value
        #expect(outcome.status == 0)
        #expect(outcome.tail.hasPrefix("started"), "\(outcome.tail)")
        #expect(outcome.tail.contains("they were stopped"), "\(outcome.tail)")
    }

    /// The output's read end is closed once the command is done: a writer the command left
    /// behind (out of its group) gets a broken pipe and ends, where it used to block for as
    /// long as the runner lived (and the runner kept one descriptor per task).
    @Test func aWriterLeftBehindSeesTheOutputClosed() async throws {
        let directory = try TemporaryDirectory("child-fifo")
        defer { directory.remove() }
        let fifo = directory.file("gone")
        let ready = directory.file("ready")
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(mkfifo(ready, 0o600) == 0)
        let writer = "echo > '\(ready)'; yes 2>/dev/null; echo gone > '\(fifo)'"
        let outcome = await ChildProcess.run(
            ["/bin/sh", "-c", "setsid sh -c \"\(writer)\" & read _ < '\(ready)'; echo started"],
            environment: Self.environment, directory: nil, tailBytes: 100)
        #expect(outcome.status == 0)
        // Blocks until the background writer has ended (without the fix: until the time limit).
        let said = await Self.read(fifo: fifo)
        #expect(said == "gone\n")
    }

    /// A workspace that has gone ran the command in whatever directory the runner was in.
    @Test func aMissingDirectoryFailsTheCommandInsteadOfRunningItElsewhere() async throws {
        let outcome = await ChildProcess.run(
            ["/bin/sh", "-c", "touch MADE_HERE"], environment: Self.environment, directory: "/nonexistent/workspace",
            tailBytes: 200)
        #expect(outcome.status == 127)
        #expect(outcome.tail.contains("/nonexistent/workspace"))
        #expect(!FileManager.default.fileExists(atPath: FileManager.default.currentDirectoryPath + "/MADE_HERE"))
    }

    /// A cancelled command is stopped with what it started: the agent runner's command ran
    /// on after its task timed out, beside the retry of the same task.
    @Test func cancellingStopsTheCommandAndItsProcessGroup() async throws {
        let directory = try TemporaryDirectory("child-cancel")
        defer { directory.remove() }
        let fifo = directory.file("alive")
        #expect(mkfifo(fifo, 0o600) == 0)
        // The background sleep holds the FIFO open for writing for as long as it lives.
        let run = Task {
            await ChildProcess.run(
                ["/bin/sh", "-c", "sleep 600 > '\(fifo)' & wait"], environment: Self.environment, directory: nil,
                tailBytes: 100)
        }
        let (events, writer) = AsyncStream.makeStream(of: String.self)
        Thread {
            let reader = FileHandle(forReadingAtPath: fifo)
            writer.yield("opened")
            _ = reader?.readToEndRetryingInterrupts(limit: 100)
            writer.yield("closed")
            writer.finish()
        }.start()
        var seen = events.makeAsyncIterator()
        #expect(await seen.next() == "opened")
        run.cancel()
        let outcome = await run.value
        // SIGTERM, or SIGKILL after the grace where the test process ignores SIGTERM (inherited).
        #expect([128 + SIGTERM, 128 + SIGKILL].contains(outcome.status), "\(outcome.status)")
        // Without the group's SIGTERM, the sleep holds the FIFO until the time limit.
        #expect(await seen.next() == "closed")
    }

    /// A cancelled command gets SIGTERM it can act on: it started with the signal mask of the
    /// thread that spawned it, SIGTERM blocked, so its trap never ran and only SIGKILL ended it.
    @Test func aCancelledCommandCanTrapTheStop() async throws {
        let directory = try TemporaryDirectory("child-trap")
        defer { directory.remove() }
        let fifo = directory.file("ready")
        #expect(mkfifo(fifo, 0o600) == 0)
        let run = Task {
            await ChildProcess.run(
                ["/bin/sh", "-c", "trap 'echo trapped; exit 3' TERM; echo ready > '\(fifo)'; sleep 600 & wait"],
                environment: Self.environment, directory: nil, tailBytes: 100, grace: .seconds(60))
        }
        let said = await Self.read(fifo: fifo)
        #expect(said == "ready\n")
        run.cancel()
        let outcome = await run.value
        #expect(outcome.status == 3, "\(outcome.status) \(outcome.tail)")
        #expect(outcome.tail.contains("trapped"))
    }

    /// The shell may end at SIGTERM while what it started ignores it (dash forks a command
    /// rather than executing it): a stopped run is over only once its whole group is, after
    /// SIGKILL if need be. The run used to end with the shell, its command still running
    /// beside the retry.
    @Test func aStoppedRunEndsOnlyOnceItsWholeGroupIsGone() async throws {
        let directory = try TemporaryDirectory("child-group")
        defer { directory.remove() }
        let fifo = directory.file("ready")
        #expect(mkfifo(fifo, 0o600) == 0)
        let script = "(trap '' TERM; echo $(exec sh -c 'echo $PPID') > '\(fifo)'; while :; do sleep 1; done) & wait"
        let run = Task {
            await ChildProcess.run(
                ["/bin/sh", "-c", script], environment: Self.environment, directory: nil, tailBytes: 100,
                grace: .milliseconds(200))
        }
        let said = await Self.read(fifo: fifo)
        let child = try #require(Int32(said.trimmingCharacters(in: .whitespacesAndNewlines)))
        run.cancel()
        _ = await run.value
        // The subshell that ignored SIGTERM is gone (or a zombie nobody waits for) when the run ends.
        let stat = (try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8)) ?? ""
        let state = stat.lastIndex(of: ")").map { stat[stat.index($0, offsetBy: 2)] }
        #expect(stat.isEmpty || state == "Z", "\(stat)")
    }

    /// A command that ignores SIGTERM gets SIGKILL once the grace is over.
    @Test func aCommandIgnoringTheStopIsKilledAfterTheGrace() async throws {
        let directory = try TemporaryDirectory("child-kill")
        defer { directory.remove() }
        let fifo = directory.file("ready")
        #expect(mkfifo(fifo, 0o600) == 0)
        let run = Task {
            await ChildProcess.run(
                ["/bin/sh", "-c", "trap '' TERM; echo ready > '\(fifo)'; while :; do sleep 1; done"],
                environment: Self.environment, directory: nil, tailBytes: 100, grace: .milliseconds(100))
        }
        // Returns once the command has set its trap and written the line.
        let said = await Self.read(fifo: fifo)
        #expect(said == "ready\n")
        run.cancel()
        let outcome = await run.value
        #expect(outcome.status == 128 + SIGKILL, "\(outcome.tail)")
    }

    @Test func theTailBufferKeepsTheLastBytesInOrder() {
        var buffer = TailBuffer(capacity: 5)
        for piece in ["ab", "cdef", "g", "hijklmnop", "qr"] {
            Array(piece.utf8).withUnsafeBufferPointer { buffer.append($0) }
        }
        #expect(String(decoding: buffer.bytes, as: UTF8.self) == "nopqr")
        var empty = TailBuffer(capacity: 0)
        Array("abc".utf8).withUnsafeBufferPointer { empty.append($0) }
        #expect(empty.bytes.isEmpty)
    }
}

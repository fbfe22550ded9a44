import Foundation
import HubEngine
import HubTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Starting child processes without Foundation's `Process`, whose start on Linux crashed a
/// test run that had some 1,360 descriptors open and changed the whole process's directory.
@Suite(.timeLimit(.minutes(1))) struct SpawnedProcessTests {
    static let environment = ProcessInfo.processInfo.environment

    /// Starts `arguments` with its standard output to a pipe, which it answers.
    static func start(_ arguments: [String], directory: String? = nil) throws -> (SpawnedProcess, Pipe) {
        let pipe = Pipe()
        let process = try SpawnedProcess.spawn(
            arguments[0], arguments: Array(arguments.dropFirst()), environment: environment, directory: directory,
            standardOutput: .descriptor(pipe.fileHandleForWriting.fileDescriptor))
        try pipe.fileHandleForWriting.close()
        return (process, pipe)
    }

    /// What a started process writes, and how it ended.
    static func collect(_ started: (SpawnedProcess, Pipe)) async throws -> (String, SpawnedProcess.Termination) {
        let bytes = started.1.fileHandleForReading.readToEndRetryingInterrupts(limit: 1 << 20)
        try started.1.fileHandleForReading.close()
        return (String(decoding: bytes, as: UTF8.self), await started.0.exited())
    }

    /// Runs `arguments` and answers its standard output and how it ended.
    static func output(
        _ arguments: [String], directory: String? = nil
    ) async throws -> (String, SpawnedProcess.Termination) {
        try await collect(start(arguments, directory: directory))
    }

    /// With two thousand descriptors open (none close-on-exec), children still start, and
    /// not one of those descriptors reaches them: a child has its three streams only.
    @Test func manyOpenDescriptorsNeitherStopAStartNorLeakIntoTheChild() async throws {
        var opened: [Int32] = []
        defer { for fd in opened { close(fd) } }
        for _ in 0..<1000 {
            var ends: [Int32] = [-1, -1]
            guard pipe(&ends) == 0 else { break }
            opened += ends
        }
        #expect(opened.count == 2000)
        for _ in 0..<5 {
            // `ls` lists its own directory descriptor too: at most one beyond 0, 1 and 2.
            let (listing, end) = try await Self.output(["/bin/ls", "/proc/self/fd"])
            let descriptors = listing.split(separator: "\n").compactMap { Int($0) }
            #expect(end == .exited(0))
            #expect(descriptors.filter { $0 > 3 }.isEmpty, "\(descriptors)")
            #expect(Set([0, 1, 2]).isSubset(of: descriptors))
        }
    }

    /// The child runs in the directory it is given; this process's own stays where it was.
    @Test func theChildChangesItsOwnDirectoryNotThisProcesss() async throws {
        let directory = try TemporaryDirectory("spawn-dir")
        defer { directory.remove() }
        let before = FileManager.default.currentDirectoryPath
        let (printed, end) = try await Self.output(["/bin/pwd"], directory: directory.path)
        #expect(end == .exited(0))
        #expect(
            URL(fileURLWithPath: printed.trimmingCharacters(in: .newlines)).resolvingSymlinksInPath()
                == URL(fileURLWithPath: directory.path).resolvingSymlinksInPath())
        #expect(FileManager.default.currentDirectoryPath == before)
    }

    /// A child starts with no signal blocked or ignored, whatever this process's threads
    /// block and ignore (SIGTERM and SIGPIPE here): a command must be stoppable by SIGTERM and die of
    /// SIGPIPE as it would from a shell.
    @Test func theChildStartsWithNoSignalBlockedOrIgnored() async throws {
        let previous = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, previous) }
        var blocked = sigset_t()
        var saved = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &blocked, &saved)
        let started = Result { try Self.start(["/bin/cat", "/proc/self/status"]) }
        pthread_sigmask(SIG_SETMASK, &saved, nil)
        let (status, end) = try await Self.collect(started.get())
        #expect(end == .exited(0))
        let fields = Dictionary(
            status.split(separator: "\n").compactMap { line -> (String, String)? in
                let parts = line.split(separator: ":", maxSplits: 1)
                return parts.count == 2 ? (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces)) : nil
            }, uniquingKeysWith: { first, _ in first })
        #expect(fields["SigBlk"] == "0000000000000000", "\(status)")
        // Signals 1–31; glibc's own two above them (32, 33) are its business.
        let ignored = fields["SigIgn"].flatMap { UInt64($0, radix: 16) }
        #expect(ignored.map { $0 & 0x7FFF_FFFF } == 0, "\(status)")
    }

    /// Each child leads a process group of its own, so a stop can reach what it started.
    @Test func theChildLeadsAProcessGroupOfItsOwn() async throws {
        let (printed, end) = try await Self.output(["/bin/sh", "-c", "echo $$ $(ps -o pgid= -p $$)"])
        #expect(end == .exited(0))
        let ids = printed.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(ids.count == 2 && ids[0] == ids[1], "\(printed)")
    }

    /// How a child ended: its exit status, or the signal that ended it; nothing is sent once it is over.
    @Test func theEndIsAnExitOrASignalAndALateSignalGoesNowhere() async throws {
        #expect(try await Self.output(["/bin/sh", "-c", "exit 3"]).1 == .exited(3))
        let sleeper = try SpawnedProcess.spawn("/bin/sleep", arguments: ["1000"], environment: [:])
        #expect(sleeper.isRunning)
        sleeper.terminate()
        #expect(await sleeper.exited() == .signaled(SIGTERM))
        #expect(sleeper.termination?.status == 128 + SIGTERM)
        #expect(!sleeper.isRunning)
        #expect(!sleeper.send(SIGKILL))
    }

    /// A path that is not there is an error that names it, not a child that fails.
    @Test func aMissingExecutableIsAnErrorThatNamesIt() {
        #expect {
            try SpawnedProcess.spawn("/nonexistent/tool", arguments: [], environment: [:])
        } throws: { error in
            "\(error)".contains("/nonexistent/tool")
        }
    }
}

import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The event system as a user runs it: separate processes publish, subscribe,
/// read and acknowledge; `get-events` with `follow` prints events as they arrive.
@Suite struct EventCLITests {
    @Test func aSubscriptionsCursorSurvivesAcrossProcesses() throws {
        let s = try DispatchSandbox("events-cursor")
        defer { s.remove() }
        try s.succeed("w1", "create", #"{"phases": ["build"]}"#)
        try s.succeed("subscribe-event", #"{"patterns": ["workflow.*.note"], "callback": "reader"}"#)
        for n in 0..<3 { try s.succeed("w1", "publish-event", "{\"event_type\": \"note\", \"data\": {\"n\": \(n)}}") }
        let first = try s.succeed("get-events", #"{"subscription": "reader", "limit": 2, "ack": true}"#)
        #expect(first["events"]?.arrayValue?.compactMap { $0["data"]?["n"]?.intValue } == [0, 1])
        // A new process sees the cursor the last one moved.
        let rest = try s.succeed("get-events", #"{"subscription": "reader"}"#)
        #expect(rest["events"]?.arrayValue?.compactMap { $0["data"]?["n"]?.intValue } == [2])
        try s.fail(["get-events", #"{"subscription": "nobody"}"#], code: "SUBSCRIPTION_NOT_FOUND")
        try s.fail(["w1", "publish-event", #"{"event_type": "Not Snake"}"#], code: "INVALID_PARAMETERS")
    }

    @Test func followPrintsEventsAsTheyArriveUntilInterrupted() async throws {
        let s = try DispatchSandbox("events-follow")
        defer { s.remove() }
        try s.succeed("w1", "create", #"{"phases": ["build"]}"#)
        try s.succeed("w1", "publish-event", #"{"event_type": "note", "data": {"n": 0}}"#)
        let output = Pipe()
        let process = try s.runner.start(
            ["get-events", #"{"follow": true, "patterns": ["*.note"], "after_sequence": 0}"#], standardOutput: output)
        var lines = LineStream(output.fileHandleForReading)

        let first = try JSONParser.parse(try #require(await lines.next()))
        #expect(first["event_type"] == "note")
        #expect(first["data"]?["n"] == 0)
        // Published by another process while the follower runs.
        try s.succeed("w1", "publish-event", #"{"event_type": "note", "data": {"n": 1}}"#)
        try s.succeed("w1", "publish-event", #"{"event_type": "other"}"#)
        try s.succeed("w1", "publish-event", #"{"event_type": "note", "data": {"n": 2}}"#)
        let second = try JSONParser.parse(try #require(await lines.next()))
        let third = try JSONParser.parse(try #require(await lines.next()))
        #expect(second["data"]?["n"] == 1)
        #expect(third["data"]?["n"] == 2)
        #expect((second["sequence"]?.intValue ?? 0) < (third["sequence"]?.intValue ?? 0))

        kill(process.processIdentifier, SIGINT)
        #expect(await ProcessWait.exit(of: process, within: .seconds(30)))
        #expect(process.terminationStatus == 0)
    }

    /// A follow without a starting point printed the whole log first. It prints the events
    /// after the newest one when it started, which it has fixed by the time it says on
    /// standard error that it is following: an event published after that line is printed.
    @Test(.timeLimit(.minutes(2))) func followWithoutAStartPrintsOnlyNewEvents() async throws {
        let s = try DispatchSandbox("events-follow-new")
        defer { s.remove() }
        try s.succeed("w1", "create", #"{"phases": ["build"]}"#)
        try s.succeed("w1", "publish-event", #"{"event_type": "note", "data": {"n": 0}}"#)
        let output = Pipe()
        let errors = Pipe()
        let process = try s.runner.start(
            ["get-events", #"{"follow": true, "patterns": ["*.note"]}"#], standardOutput: output,
            standardError: errors)
        var notices = LineStream(errors.fileHandleForReading)
        var lines = LineStream(output.fileHandleForReading)
        let notice = try #require(await notices.next())
        #expect(notice.hasPrefix("get-events: following the events after sequence"), "\(notice)")
        try s.succeed("w1", "publish-event", #"{"event_type": "note", "data": {"n": 1}}"#)
        let first = try JSONParser.parse(try #require(await lines.next()))
        #expect(first["data"]?["n"] == 1)
        kill(process.processIdentifier, SIGINT)
        #expect(await ProcessWait.exit(of: process, within: .seconds(30)))
        #expect(process.terminationStatus == 0)
    }

    /// Refused before the line on standard error says the follow is on (it said so, then
    /// failed); so is a start past the newest event, which would skip every event to come.
    @Test func followRefusesADescendingReadOrAStartPastTheLog() throws {
        let s = try DispatchSandbox("events-follow-bad")
        defer { s.remove() }
        for parameters in [
            #"{"follow": true, "order": "desc"}"#, #"{"follow": true, "order": "desc", "after_sequence": 0}"#,
            #"{"follow": true, "after_sequence": 999999}"#,
            // An until cannot end a follow: one in the past waited for ever, printing nothing.
            #"{"follow": true, "until": "2020-01-01T00:00:00Z"}"#,
        ] {
            let run = try s.run(["get-events", parameters])
            #expect(run.status == 1)
            #expect(run.errorCode == "INVALID_PARAMETERS", "\(run.stdout)")
            #expect(!run.stderr.contains("following"), "\(run.stderr)")
        }
        // A subscription that does not exist: the follow's notice came before the error.
        let missing = try s.run(["get-events", #"{"follow": true, "subscription": "nope"}"#])
        #expect(missing.errorCode == "SUBSCRIPTION_NOT_FOUND", "\(missing.stdout)")
        #expect(!missing.stderr.contains("following"), "\(missing.stderr)")
    }
}

/// Lines a child process writes, awaited one at a time (no polling, no sleeping).
struct LineStream {
    private var iterator: AsyncStream<String>.Iterator

    init(_ handle: FileHandle) {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        iterator = stream.makeAsyncIterator()
        Thread.detachNewThread {
            var pending: [UInt8] = []
            while true {
                let data = handle.readAvailableRetryingInterrupts()
                if data.isEmpty { break }
                pending += data
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    continuation.yield(String(decoding: pending[..<newline], as: UTF8.self))
                    pending.removeSubrange(...newline)
                }
            }
            continuation.finish()
        }
    }

    /// The next line, or `nil` when the process closed its output.
    mutating func next() async -> String? { await iterator.next() }
}

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

extension ServeTests {
    /// Starts `get-events` with `parameters` (a follow of a subscription) through the server,
    /// once it has said on standard error that it reads get-events again and again; answers the
    /// process and the lines of its standard output.
    static func startPolling(_ s: DispatchSandbox, url: String, _ parameters: String) async throws -> (
        SpawnedProcess, LineStream
    ) {
        let (follower, output) = try await startFollower(s, url: url, parameters, notice: "by reading get-events again")
        return (follower, LineStream(output.fileHandleForReading))
    }

    /// The `n` of the next `count` notes a follower prints.
    static func notes(_ count: Int, from lines: inout LineStream) async throws -> [Int64] {
        var found: [Int64] = []
        for _ in 0..<count {
            let line = try #require(await lines.next())
            found.append(try JSONParser.parse(line)["data"]?["n"]?.intValue ?? -1)
        }
        return found
    }

    /// Found by a probe: a follow of a subscription through the server left out what a
    /// `replay-events` handed out again (its read acknowledged those events; they were never
    /// printed), and without ack it printed its first page and nothing after. With ack it prints
    /// what the subscription delivers; without, it reads on after what it printed and leaves
    /// the cursor alone.
    @Test(.timeLimit(.minutes(2))) func aFollowOfASubscriptionPrintsAReplayAndReadsOnWithoutAck() async throws {
        let s = try DispatchSandbox("serve-follow-subscription")
        defer { s.remove() }
        let (server, url, _) = try await Self.startServer(s)
        _ = try s.succeed("--hub", url, "w1", "create", #"{"phases": ["build"]}"#)
        for callback in ["fr", "nf"] {
            _ = try s.succeed(
                "--hub", url, "subscribe-event",
                "{\"patterns\": [\"*.note\"], \"callback\": \"\(callback)\", \"start_from\": \"all\"}")
        }
        func note(_ n: Int) throws -> Int64 {
            let published = try s.succeed(
                "--hub", url, "w1", "publish-event", "{\"event_type\": \"note\", \"data\": {\"n\": \(n)}}")
            return published["event"]?["sequence"]?.intValue ?? -1
        }
        let first = try note(1)
        let second = try note(2)
        let (acking, acked) = try await Self.startPolling(
            s, url: url, #"{"follow": true, "subscription": "fr", "ack": true}"#)
        var ackedLines = acked
        #expect(try await Self.notes(2, from: &ackedLines) == [1, 2])
        _ = try s.succeed(
            "--hub", url, "replay-events",
            "{\"subscription\": \"fr\", \"from_sequence\": \(first), \"to_sequence\": \(second)}")
        _ = try note(3)
        #expect(try await Self.notes(3, from: &ackedLines) == [1, 2, 3])
        await Self.interruptAndExpectCleanExit(acking)

        let (watching, watched) = try await Self.startPolling(
            s, url: url, #"{"follow": true, "subscription": "nf", "limit": 1}"#)
        var watchedLines = watched
        #expect(try await Self.notes(3, from: &watchedLines) == [1, 2, 3])
        _ = try note(4)
        #expect(try await Self.notes(1, from: &watchedLines) == [4])
        await Self.interruptAndExpectCleanExit(watching)
        let pending = try s.succeed("--hub", url, "get-events", #"{"subscription": "nf"}"#)
        #expect(pending["count"] == 4)
        kill(server.processIdentifier, SIGTERM)
        #expect(await ProcessWait.exit(of: server, within: .seconds(60)))
    }
}

import Foundation
import HubCore
import HubEngine
import HubTesting
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The server killed with SIGKILL under load — four agents and a publisher working
/// through it — and restarted, several times (§13, issue 6): afterwards every
/// acknowledged publish and completion is there, no task is completed twice or lost,
/// and the agents carry on.
@Suite(.timeLimit(.minutes(5))) struct ServerCrashTests {
    static let cycles = 3
    static let tasks = 60

    /// A port that was free a moment ago (the server binds it again after each restart).
    static func freePort() throws -> Int {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        try #require(bound)
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func serve(_ s: DispatchSandbox, port: Int) async throws -> SpawnedProcess {
        try await ServeTests.startServer(s, port: port).0
    }

    @Test func killedAndRestartedUnderLoadNothingAcknowledgedIsLost() async throws {
        let s = try DispatchSandbox("server-crash", environment: ["COORDINATION_HUB_HEARTBEAT_INTERVAL": "1s"])
        defer { s.remove() }
        let port = try Self.freePort()
        let url = "http://127.0.0.1:\(port)"
        var server = try await Self.serve(s, port: port)
        let tasks = (0..<Self.tasks).map { "{\"task_id\": \"t\($0)\", \"role\": \"code\"}" }.joined(separator: ", ")
        try s.succeed("--hub", url, "w", "create", "{\"phases\": [{\"name\": \"work\", \"tasks\": [\(tasks)]}]}")
        try s.succeed("--hub", url, "w", "start")
        let agents = try (0..<4).map { n in
            try s.launch(
                [
                    "agent", "--hub", url, "--id", "agent\(n)", "--roles", "code", "--max-tasks", "2", "--workflow",
                    "w",
                    "--idle-delay", "50ms", "--", "/bin/sh", "-c", "sleep 0.1",
                ], log: "agent\(n)")
        }
        // The publisher: every publish that was answered with success must survive.
        let acknowledged = Gathered<String>()
        let stopPublishing = Atomic<Bool>(false)
        let runner = s.runner
        let publisher = Thread {
            var n = 0
            while !stopPublishing.load(ordering: .acquiring) {
                let id = "pub-\(n)"
                n += 1
                let outcome = try? runner.run([
                    "--hub", url, "w", "publish-event", "{\"event_type\": \"beacon\", \"dedup_id\": \"\(id)\"}",
                ])
                if outcome?.status == 0 { acknowledged.append(id) }
            }
        }
        publisher.start()

        func completed() -> Int {
            let r = try? runner.run(["w", "get-events", #"{"event_types": ["task_completed"], "limit": 10000}"#])
            return r?.json["result"]?["count"]?.intValue.map(Int.init) ?? 0
        }
        // Kill the server each time a few more tasks have completed, then start it again.
        var done = 0
        for _ in 0..<Self.cycles {
            // Kill while work remains; a machine fast enough to finish first just kills fewer times.
            let target = min(done + 3, Self.tasks - 1)
            guard done < target else { break }
            #expect(await DispatchSandbox.poll(attempts: 1200) { completed() >= target })
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
            done = completed()
            server = try await Self.serve(s, port: port)
        }
        // The agents carry on until every task is done.
        let finished = await DispatchSandbox.poll(attempts: 1200) {
            (try? s.workflowState("w"))?["status"]?.stringValue == "completed"
        }
        #expect(finished, "the workflow did not complete after the restarts")
        // Then they are stopped (an agent that already left needs nothing).
        for agent in agents where agent.isRunning { kill(agent.processIdentifier, SIGTERM) }
        for agent in agents { _ = await ProcessWait.exit(of: agent, within: .seconds(30)) }
        stopPublishing.store(true, ordering: .releasing)
        kill(server.processIdentifier, SIGTERM)
        #expect(await ProcessWait.exit(of: server, within: .seconds(60)))
        while publisher.isExecuting { await Task.yield() }

        let status = try s.workflowState("w")
        #expect(status["status"] == "completed")
        let completions = try s.events(["event_types": ["task_completed"], "workflow_id": "w", "limit": 10000])
        let completedTasks = completions.compactMap { $0["data"]?["task_id"]?.stringValue }
        #expect(completedTasks.count == Self.tasks, "completions: \(completedTasks.count)")
        #expect(Set(completedTasks).count == Self.tasks, "a task was completed twice")
        let beacons = try s.events(["event_types": ["beacon"], "workflow_id": "w", "limit": 10000])
        let stored = Set(beacons.compactMap { $0["dedup_id"]?.stringValue })
        let lost = acknowledged.all.filter { !stored.contains($0) }
        #expect(lost.isEmpty, "acknowledged publishes missing: \(lost)")
        #expect(!acknowledged.all.isEmpty)
    }
}

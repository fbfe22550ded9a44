import Foundation
import HubCore
import HubEngine
import HubStoreSQLite
import HubTesting
import Testing

/// A server that starts after an outage does not count the outage as its agents' silence.
@Suite struct RestartGraceTests {
    /// Agents cannot heartbeat to a server that is down: a restart after an outage longer
    /// than 3 heartbeat intervals failed every connected agent at its first sweep, revoked
    /// their leases and stopped work that was going on. Their silence counts from the
    /// server's start; a lease nobody renews by then still lapses, and an agent still silent
    /// then still fails.
    @Test func aServerStartingAfterAnOutageGivesItsAgentsOneLeaseToComeBack() async throws {
        let t = try TestHub.heartbeatEvery(.seconds(10))
        defer { t.remove() }
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}, {"task_id": "b"}, {"task_id": "c"}]}]}"#)
        await t.run("w1", "start")
        var leases: [String: String] = [:]
        for agent in ["back", "gone", "done"] {
            await t.run(nil, "register-agent", "{\"agent_id\": \"\(agent)\"}")
            leases[agent] = await t.claim(agent).first?["lease_id"]?.stringValue
        }
        // The server is down for ten minutes, then starts on the same store.
        t.clock.advance(by: .minutes(10))
        let server = Hub(
            store: try SQLiteStore(path: t.directory.file("state/hub.sqlite")),
            stateDirectory: t.directory.file("state"),
            configuration: t.hub.configuration, clock: t.clock, workingDirectory: t.directory.path, serving: true)
        try await server.recordExpiryHold()
        func run(_ operation: String, _ parameters: String) async -> OperationResponse {
            await server.perform(
                OperationRequest(
                    workflowID: nil, operation: operation, parameters: (try? JSONParser.parse(parameters)) ?? .null))
        }
        func failures() async -> [String] {
            let events = await run("get-events", #"{"event_types": ["failed"], "patterns": ["agent.*.failed"]}"#)
            return events.result["events"]?.arrayValue?.compactMap { $0["subject"]?.stringValue } ?? []
        }
        // Another process on the store (a command run on the state directory) holds expiry too:
        // its dispatcher operation swept as usual and failed every agent.
        await t.run(nil, "register-agent", #"{"agent_id": "local"}"#)
        #expect(await failures() == [])
        // Its first dispatcher operation fails nobody: the agents reconnect, and an outcome of
        // work that finished while the server was down is recorded (it was LEASE_EXPIRED, and
        // the task ran again).
        let done = await run("complete-task", "{\"lease_id\": \"\(leases["done"] ?? "")\"}")
        #expect(done.succeeded, "\(done.json)")
        let renewed = await run("heartbeat", #"{"agent_id": "back"}"#)
        #expect(renewed.result["leases"]?.arrayValue?.count == 1, "\(renewed.json)")
        #expect(await failures() == [])
        // A lease duration after the start, the agent that never came back has failed; the
        // one that did keeps its task.
        for step in [29, 2] {
            t.clock.advance(by: .seconds(Int64(step)))
            for agent in ["back", "done", "local"] {
                #expect(await run("heartbeat", "{\"agent_id\": \"\(agent)\"}").succeeded)
            }
        }
        #expect(await failures() == ["agent.gone.failed"])
        let pool = await run("monitor-pool", "{}").result["agent_pool"]?["performance_metrics"]
        #expect(pool?["back"]?["current_load"] == 1)
        #expect(pool?["gone"]?["current_load"] == 0)
    }
}

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
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}, {"task_id": "b"}]}]}"#)
        await t.run("w1", "start")
        for agent in ["back", "gone"] {
            await t.run(nil, "register-agent", "{\"agent_id\": \"\(agent)\"}")
            #expect(await t.claim(agent).count == 1)
        }
        // The server is down for ten minutes, then starts on the same store.
        t.clock.advance(by: .minutes(10))
        let server = Hub(
            store: try SQLiteStore(path: t.directory.file("state/hub.sqlite")),
            stateDirectory: t.directory.file("state"),
            configuration: t.hub.configuration, clock: t.clock, workingDirectory: t.directory.path, serving: true)
        func run(_ operation: String, _ parameters: String) async -> OperationResponse {
            await server.perform(
                OperationRequest(
                    workflowID: nil, operation: operation, parameters: (try? JSONParser.parse(parameters)) ?? .null))
        }
        func failures() async -> [String] {
            let events = await run("get-events", #"{"event_types": ["failed"], "patterns": ["agent.*.failed"]}"#)
            return events.result["events"]?.arrayValue?.compactMap { $0["subject"]?.stringValue } ?? []
        }
        // Its first dispatcher operation fails nobody: the agents reconnect.
        let renewed = await run("heartbeat", #"{"agent_id": "back"}"#)
        #expect(renewed.result["leases"]?.arrayValue?.count == 1, "\(renewed.json)")
        #expect(await failures() == [])
        // A lease duration after the start, the agent that never came back has failed; the
        // one that did keeps its task.
        t.clock.advance(by: .seconds(29))
        #expect(await run("heartbeat", #"{"agent_id": "back"}"#).succeeded)
        t.clock.advance(by: .seconds(2))
        #expect(await run("heartbeat", #"{"agent_id": "back"}"#).succeeded)
        #expect(await failures() == ["agent.gone.failed"])
        let pool = await run("monitor-pool", "{}").result["agent_pool"]?["performance_metrics"]
        #expect(pool?["back"]?["current_load"] == 1)
        #expect(pool?["gone"]?["current_load"] == 0)
    }
}

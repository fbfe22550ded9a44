import HubCore
import HubStore

extension StoreConformance {
    static let agentCases: [(name: String, run: @Sendable (any Store) async throws -> Void)] = [
        ("an agent's runner id is kept, replaced and cleared", agentRunnerID)
    ]

    /// The runner holding an agent id (migration 17) is what refuses a second runner: a save
    /// that changes only it, or changes it with the heartbeat, must reach the store, and a
    /// cleared one must read back as none.
    static func agentRunnerID(_ store: any Store) async throws {
        var agent = Agent(agentID: "conf_runner_agent", registeredAt: 1)
        agent.runnerID = "run_first"
        let steps: [(String, @Sendable (inout Agent) -> Void)] = [
            ("as registered", { _ in }),
            ("replaced alone", { $0.runnerID = "run_second" }),
            (
                "replaced with the heartbeat",
                { a in
                    a.runnerID = "run_third"
                    a.lastHeartbeat += 1
                }
            ),
            (
                "cleared as the agent goes offline",
                { a in
                    a.runnerID = nil
                    a.status = .offline
                }
            ),
            ("cleared and set again", { $0.runnerID = "run_fourth" }),
            // Migration 21: when the agent falls silent, by the interval it was told.
            ("heard from and told an interval", { $0.heard(at: 5_000, heartbeatInterval: .seconds(2)) }),
            ("told another interval at the same moment", { $0.heard(at: 5_000, heartbeatInterval: .seconds(9)) }),
        ]
        for (label, change) in steps {
            change(&agent)
            let saved = agent
            let inWrite = try await store.write { tx in
                try tx.save(saved)
                return try tx.agent(saved.agentID)?.runnerID
            }
            let afterCommit = try await store.read { tx in try tx.agent(saved.agentID) }
            try expect(inWrite == saved.runnerID, "\(label): read back in the write as \(inWrite ?? "none")")
            try expect(
                afterCommit == saved,
                "\(label): read back as \(afterCommit?.runnerID ?? "none"), saved \(saved.runnerID ?? "none")")
        }
    }
}

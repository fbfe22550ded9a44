import Foundation

/// `hub-load dispatch-agent URL --id ID --workflow WF [--batch 10]`: one agent process of
/// the dispatch scenario (started by `dispatch`, not by hand).
///
/// Registers with `max_concurrent_tasks` = batch, writes `ready`, waits for `go` on its
/// standard input, then claims up to `batch` tasks of the workflow and completes them all
/// concurrently, again and again until a claim comes back empty (no ready task remains:
/// one phase, no dependencies). Writes its `AgentReport` as one JSON line.
enum DispatchAgent {
    static func run(_ arguments: [String]) async throws {
        let options = try Options(arguments, known: ["id", "workflow", "batch"])
        let agent = try options.required("id")
        let workflow = try options.required("workflow")
        let batch = try options.int("batch", default: 10)

        try await HubClient.with(options.url, connections: batch + 2) { client in
            _ = try await client.call(
                "register-agent", ["agent_id": .string(agent), "max_concurrent_tasks": .int(batch)] as Parameters,
                as: Ignored.self)
            FileHandle.standardOutput.write(Data("ready\n".utf8))
            guard await LineReader(FileHandle.standardInput).nextLine() == "go" else {
                throw LoadError("dispatch-agent: expected 'go' on standard input")
            }
            // Heartbeats keep the agent (and its leases) alive if a run outlasts 3 heartbeat intervals.
            let heartbeats = Task {
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(10))
                    _ = try? await client.call(
                        "heartbeat", ["agent_id": .string(agent)] as Parameters, as: Ignored.self)
                }
            }
            defer { heartbeats.cancel() }

            var report = AgentReport(agentID: agent)
            let claim: Parameters = ["agent_id": .string(agent), "max_tasks": .int(batch)]
            while true {
                let start = Clock.monotonicNanoseconds()
                if report.claims == 0 { report.firstClaimNs = start }
                let (claimed, claimInHub) = try await client.callTimed(
                    "workflows/\(workflow)/claim-task", claim, as: ClaimResult.self)
                report.claimNs.append(Clock.monotonicNanoseconds() - start)
                if let claimInHub { report.claimInHubNs.append(claimInHub) }
                report.claims += 1
                if claimed.tasks.isEmpty { break }
                let latencies = try await withThrowingTaskGroup(of: (Int64, Int64?).self) { group in
                    for task in claimed.tasks {
                        group.addTask {
                            let start = Clock.monotonicNanoseconds()
                            let (_, inHub) = try await client.callTimed(
                                "complete-task", ["lease_id": .string(task.leaseID)] as Parameters, as: Ignored.self)
                            return (Clock.monotonicNanoseconds() - start, inHub)
                        }
                    }
                    return try await group.reduce(into: [(Int64, Int64?)]()) { $0.append($1) }
                }
                report.lastCompleteNs = Clock.monotonicNanoseconds()
                report.completeNs.append(contentsOf: latencies.map(\.0))
                report.completeInHubNs.append(contentsOf: latencies.compactMap(\.1))
                report.completed += latencies.count
            }
            let line = try JSONEncoder().encode(report)
            FileHandle.standardOutput.write(line + Data("\n".utf8))
        }
    }
}

/// The leases of a claim-task result.
struct ClaimResult: Decodable {
    let tasks: [Claimed]

    struct Claimed: Decodable {
        let leaseID: String
        enum CodingKeys: String, CodingKey { case leaseID = "lease_id" }
    }
}

import Foundation
import HubCore
import HubStore

/// Writes the seed's "State Storage Architecture" layout under the state directory (§6):
/// `workflows/{active,completed,failed}/<id>.json`, `events/<id>_events.jsonl`,
/// `agent_pools/pool_assignments.json` and `agent_performance.json`.
struct StateExporter {
    let hub: Hub

    var root: String { hub.stateDirectory }
    func temporaryDirectory(_ workflowID: String) -> String { "\(root)/tmp/\(workflowID)" }

    /// The folder a workflow's file belongs in: `active` until it finishes.
    static func folder(for status: WorkflowStatus) -> String {
        switch status {
        case .created, .running, .paused: return "active"
        case .completed: return "completed"
        case .failed, .cancelled: return "failed"
        }
    }

    /// Where the workflow's state file and event log go: what ``exportWorkflow(_:)`` writes.
    func workflowPaths(_ workflow: Workflow) -> (state: String, events: String) {
        let folder = Self.folder(for: workflow.status)
        return ("\(root)/workflows/\(folder)/\(workflow.id).json", "\(root)/events/\(workflow.id)_events.jsonl")
    }

    /// Everything one `save-state` exports, read in one transaction: sections read one after
    /// another let a change commit between them, and a bundle's workflow was older than its
    /// events (§9: no event without its change; §6: a faithful export).
    struct Export: Sendable {
        var snapshot: WorkflowSnapshot
        var agents: WorkflowAgents
        var events: [HubEvent]
        /// Every workflow's pool, every agent and each one's active leases: the hub-wide pool files.
        var pools: [String: Set<String>]
        var allAgents: [Agent]
        var leases: [String: [Lease]]
        /// The workflow's checkpoints, newest first, valid as `list-checkpoints` says.
        var checkpoints: [CheckpointValidity.Verdict]
        /// The bundle's `checkpoint_contents` section, when asked for.
        var contents: JSONValue?

        /// The workflow's own pool.
        var pool: [String] { Array(pools[snapshot.workflow.id] ?? []) }
    }

    /// Reads what `save-state` exports of `workflowID` within `tx` alone.
    static func read(_ workflowID: String, checkpointContents: Bool, in tx: any StoreReader) throws -> Export {
        guard let workflow = try tx.workflow(workflowID) else { throw HubError.workflowNotFound(workflowID) }
        let snapshot = WorkflowSnapshot(
            workflow: workflow, phases: try tx.phases(of: workflowID), tasks: try tx.tasks(of: workflowID))
        var ids: [String] = []
        while case let page = try tx.workflows(
            WorkflowQuery(includeArchived: true, limit: 1_000, offset: ids.count)
        ).workflows, !page.isEmpty {
            ids += page.map(\.id)
        }
        let allAgents = try tx.agents()
        var leases: [String: [Lease]] = [:]
        for agent in allAgents { leases[agent.agentID] = try tx.activeLeases(agentID: agent.agentID) }
        // A faithful export (§6): valid as list-checkpoints says it, file contents included.
        var validity = CheckpointValidity()
        let checkpoints = try tx.checkpoints(of: workflowID, limit: 10_000).map { try validity.check($0, in: tx) }
        return Export(
            snapshot: snapshot, agents: try WorkflowAgents.read(workflowID, tasks: snapshot.tasks, in: tx),
            events: try events(of: workflowID, in: tx), pools: try tx.pools(of: ids), allAgents: allAgents,
            leases: leases, checkpoints: checkpoints,
            contents: checkpointContents
                ? try StateBundle.contentsSection(checkpoints.map(\.checkpoint), in: tx) : nil)
    }

    /// Writes the workflow's state file (removing copies in the other folders) and its event log,
    /// of the workflow and events read together with `snapshot`'s agents.
    func exportWorkflow(_ snapshot: WorkflowSnapshot) async throws -> [String] {
        let id = snapshot.workflow.id
        let (agents, events) = try await hub.store.read { tx in
            (try WorkflowAgents.read(id, tasks: snapshot.tasks, in: tx), try Self.events(of: id, in: tx))
        }
        return try writeWorkflow(snapshot, agents: agents, events: events)
    }

    /// Writes the state file and event log of what was read.
    func writeWorkflow(_ snapshot: WorkflowSnapshot, agents: WorkflowAgents, events: [HubEvent]) throws -> [String] {
        let id = snapshot.workflow.id
        let folder = Self.folder(for: snapshot.workflow.status)
        let (statePath, eventsPath) = workflowPaths(snapshot.workflow)
        let view = WorkflowStateView(snapshot: snapshot, now: hub.clock.nowMilliseconds(), agents: agents)
        try FileWriter.write(
            ["workflow_state": view.json(includeMetrics: true, agentDetails: false)], to: statePath,
            temporaryDirectory: temporaryDirectory(id))
        for other in ["active", "completed", "failed"] where other != folder {
            try? FileManager.default.removeItem(atPath: "\(root)/workflows/\(other)/\(id).json")
        }
        var lines: [UInt8] = []
        for event in events {
            lines += event.json.serializedBytes(.compact)
            lines.append(0x0A)
        }
        try FileWriter.write(lines, to: eventsPath, temporaryDirectory: temporaryDirectory(id))
        return [statePath, eventsPath]
    }

    /// The pool files, hub-wide as the seed lays them out: `pool_assignments.json` holds every
    /// workflow's pool and each agent's active leases, `agent_performance.json` every agent's
    /// record as `monitor-pool` shows it.
    func writePools(_ export: Export) throws -> [String] {
        let workflowID = export.snapshot.workflow.id
        let (pools, agents, leases) = (export.pools, export.allAgents, export.leases)
        var poolsJSON: JSONValue = .emptyObject
        for (id, members) in pools { poolsJSON[id] = .strings(members.sorted()) }
        var assignments: JSONValue = .emptyObject
        var performance: JSONValue = .emptyObject
        for agent in agents {
            assignments[agent.agentID] = .array(
                (leases[agent.agentID] ?? []).map { lease in
                    [
                        "workflow_id": .string(lease.workflowID), "task_id": .string(lease.taskID),
                        "lease_id": .string(lease.leaseID),
                        "lease_expires_at": .string(Timestamp.format(milliseconds: lease.expiresAt)),
                    ]
                })
            performance[agent.agentID] = AgentView.json(agent, judged: hub.configuration.performanceMonitoring)
        }
        let assignmentsPath = "\(root)/agent_pools/pool_assignments.json"
        let performancePath = "\(root)/agent_pools/agent_performance.json"
        try FileWriter.write(
            ["pools": poolsJSON, "assignments": assignments], to: assignmentsPath,
            temporaryDirectory: temporaryDirectory(workflowID))
        try FileWriter.write(
            ["agents": performance], to: performancePath, temporaryDirectory: temporaryDirectory(workflowID))
        return [assignmentsPath, performancePath]
    }

    /// Writes `checkpoints/<id>/<name>.json` (the newest checkpoint of each name) and
    /// `latest.json`, the seed's layout; returns the paths written. An older checkpoint of a
    /// name taken again (a phase completed twice, a name reused) is `<name>.<checkpoint_id>.json`:
    /// names have no dots, so it meets no other file, and the export keeps every checkpoint the
    /// store has. Each says whether it is whole as `list-checkpoints` does, file contents
    /// included (``CheckpointValidity``).
    ///
    /// The folder mirrors the store: files of this layout for checkpoints the store no longer
    /// holds (retention removed them) are removed, since they said `valid: true` of checkpoints
    /// no restore could find. Files of any other shape are left alone.
    func exportCheckpoints(_ newestFirst: [CheckpointValidity.Verdict], workflowID: String) throws(HubError)
        -> [String]
    {
        let folder = "\(root)/checkpoints/\(workflowID)"
        var written: [String] = []
        var seen: Set<String> = []
        for checkpoint in newestFirst {
            let c = checkpoint.checkpoint
            let path = "\(folder)/\(seen.insert(c.name).inserted ? c.name : "\(c.name).\(c.checkpointID)").json"
            try FileWriter.write(
                Self.checkpointJSON(checkpoint), to: path, temporaryDirectory: temporaryDirectory(workflowID))
            written.append(path)
        }
        if let latest = newestFirst.first {
            let path = "\(folder)/latest.json"
            try FileWriter.write(
                Self.checkpointJSON(latest), to: path, temporaryDirectory: temporaryDirectory(workflowID))
            written.append(path)
        }
        let kept = Set(written.map { ($0 as NSString).lastPathComponent })
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        where !kept.contains(entry) && Self.isCheckpointFile(entry, in: folder) {
            try? FileManager.default.removeItem(atPath: "\(folder)/\(entry)")
        }
        return written
    }

    /// Whether `file` in `folder` is one ``exportCheckpoints(_:workflowID:)`` wrote: named
    /// `latest.json`, `<name>.json` or `<name>.<checkpoint_id>.json`, and holding a checkpoint
    /// export that agrees with its name. A file someone else put there is never one.
    static func isCheckpointFile(_ file: String, in folder: String) -> Bool {
        guard file.hasSuffix(".json") else { return false }
        let parts = file.dropLast(5).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2, let data = FileManager.default.contents(atPath: "\(folder)/\(file)"),
            let json = try? JSONParser.parse(bytes: [UInt8](data), extraDepth: 16),
            let id = json["checkpoint_id"]?.stringValue, id.hasPrefix("chkpt_"),
            let name = json["name"]?.stringValue, json["valid"]?.boolValue != nil
        else { return false }
        switch parts.count {
        case 1: return parts[0] == "latest" || parts[0] == name
        default: return parts[0] == name && parts[1] == id
        }
    }

    /// A checkpoint for people and other tools: its `list-checkpoints` entry and its snapshot.
    static func checkpointJSON(_ verdict: CheckpointValidity.Verdict) -> JSONValue {
        let c = verdict.checkpoint
        var json = c.summary(valid: verdict.isValid)
        json["snapshot"] = c.isValid ? ((try? JSONParser.parse(bytes: c.document, extraDepth: 16)) ?? .null) : .null
        return json
    }

    /// Every event of the workflow, oldest first, read in one transaction.
    func events(_ workflowID: String) async throws -> [HubEvent] {
        try await hub.store.read { tx in try Self.events(of: workflowID, in: tx) }
    }

    /// Every event of the workflow in `tx`, oldest first.
    static func events(of workflowID: String, in tx: any StoreReader) throws -> [HubEvent] {
        var all: [HubEvent] = []
        var after: Int64 = 0
        while true {
            let page = try tx.events(EventQuery(afterSequence: after, workflowID: workflowID, limit: 5000))
            all += page
            guard let last = page.last, page.count == 5000 else { break }
            after = last.sequence
        }
        return all
    }
}

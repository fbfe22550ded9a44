import Foundation
import HubCore

/// The run report of `generate_report` (§5): a timeline per phase and task,
/// durations against estimates, agent results, failures and recoveries, as
/// Markdown and JSON under `<state-dir>/reports/<id>/`.
struct ReportWriter {
    let hub: Hub

    /// Where the workflow's report goes.
    func paths(_ workflowID: String) -> (markdown: String, json: String) {
        let directory = "\(hub.stateDirectory)/reports/\(workflowID)"
        return ("\(directory)/report.md", "\(directory)/report.json")
    }

    func write(_ snapshot: WorkflowSnapshot, events: [HubEvent]) throws(HubError) -> (markdown: String, json: String) {
        let w = snapshot.workflow
        let report = json(snapshot, events: events)
        let (markdownPath, jsonPath) = paths(w.id)
        let temp = "\(hub.stateDirectory)/tmp/\(w.id)"
        try FileWriter.write(report, to: jsonPath, temporaryDirectory: temp)
        try FileWriter.write(Array(markdown(snapshot, report: report).utf8), to: markdownPath, temporaryDirectory: temp)
        return (markdownPath, jsonPath)
    }

    private func time(_ ms: Int64?) -> JSONValue { .optional(ms.map(Timestamp.format(milliseconds:))) }

    func json(_ snapshot: WorkflowSnapshot, events: [HubEvent]) -> JSONValue {
        let w = snapshot.workflow
        let now = hub.clock.nowMilliseconds()
        let phases: [JSONValue] = snapshot.phases.map { p in
            let tasks: [JSONValue] = snapshot.tasks.filter { $0.phaseID == p.phaseID }.map { t in
                var overrun: JSONValue = .null
                if let e = t.estimate?.milliseconds, e > 0, let x = t.executionMilliseconds {
                    overrun = .double((Double(x) / Double(e) * 100).rounded() / 100)
                }
                return [
                    "task_id": .string(t.taskID), "status": .string(t.status.rawValue), "role": .optional(t.role),
                    "assigned_agent": .optional(t.assignedAgent), "attempts": .count(t.attempts),
                    "started_at": time(t.startedAt), "completed_at": time(t.completedAt),
                    "estimate": .optional(t.estimate?.description),
                    "execution_time": .optional(
                        t.executionMilliseconds.map { HubDuration(milliseconds: $0).description }),
                    "actual_over_estimate": overrun,
                ]
            }
            var duration: JSONValue = .null
            if let s = p.startedAt, let c = p.completedAt {
                duration = .string(HubDuration(milliseconds: c - s).description)
            }
            return [
                "phase_id": .count(p.phaseID), "name": .string(p.name), "status": .string(p.status.rawValue),
                "started_at": time(p.startedAt), "completed_at": time(p.completedAt), "duration": duration,
                "tasks": .array(tasks),
            ]
        }
        let failureTypes: Set<String> = [
            "task_failed", "phase_failed", "failed", "timed_out", "task_timed_out", "error_encountered",
        ]
        let recoveryTypes: Set<String> = [
            "task_retried", "resumed", "state_restored", "state_rolled_back", "task_redistributed",
        ]
        func summary(_ e: HubEvent) -> JSONValue {
            [
                "sequence": .int(e.sequence), "event_type": .string(e.eventType),
                "timestamp": .string(Timestamp.format(milliseconds: e.timestamp)), "data": e.data,
            ]
        }
        // Each agent's results here, from the log: every completion and every failed attempt
        // (a fail-task, and a run lost to a timeout, the agent's silence or report-error), and
        // the runs taken from it without counting (redistributed, deregistered). The tasks'
        // final state counted only the last agent of each task, and fail-task events alone
        // missed every run an agent lost.
        var agents: [String: (completed: Int, failed: Int, handedBack: Int)] = [:]
        // A fail-task's retry is caused by its task_failed, which counted the attempt already.
        var failures: Set<String> = []
        for e in events {
            guard let a = e.data["agent_id"]?.stringValue else { continue }
            var c = agents[a] ?? (0, 0, 0)
            switch e.eventType {
            case "task_completed": c.completed += 1
            case "task_failed":
                c.failed += 1
                failures.insert(e.eventID)
            case "task_retried" where e.metadata.causationID.map(failures.contains) == true: continue
            case "task_retried" where e.data["attempt_counted"] == true: c.failed += 1
            case "task_retried" where e.data["attempt_counted"] == false: c.handedBack += 1
            default: continue
            }
            agents[a] = c
        }
        var agentJSON: JSONValue = .emptyObject
        for (name, c) in agents.sorted(by: { $0.key < $1.key }) {
            agentJSON[name] = [
                "tasks_completed": .count(c.completed), "tasks_failed": .count(c.failed),
                "runs_handed_back": .count(c.handedBack),
            ]
        }
        return [
            "workflow_id": .string(w.id), "name": .string(w.name), "status": .string(w.status.rawValue),
            "completion_status": .string(CompletionStatus.of(snapshot.tasks, status: w.status).rawValue),
            "generated_at": .string(Timestamp.format(milliseconds: now)),
            "created_at": time(w.createdAt), "started_at": time(w.startedAt), "finished_at": time(w.finishedAt),
            "total_execution_time": .string(w.activeTime(now: now).description),
            "progress_percentage": .double(
                snapshot.progressPercentage),
            "phases": .array(phases),
            "agents": agentJSON,
            "failures": .array(events.filter { failureTypes.contains($0.eventType) }.map(summary)),
            "recoveries": .array(events.filter { recoveryTypes.contains($0.eventType) }.map(summary)),
        ]
    }

    func markdown(_ snapshot: WorkflowSnapshot, report: JSONValue) -> String {
        func s(_ v: JSONValue?) -> String {
            guard let v, !v.isNull else { return "—" }
            return v.stringValue ?? v.serialized()
        }
        var lines = [
            "# \(snapshot.workflow.name) (`\(snapshot.workflow.id)`)", "",
            "- Status: **\(s(report["status"]))** (\(s(report["completion_status"])))",
            "- Started: \(s(report["started_at"])) · Finished: \(s(report["finished_at"]))",
            "- Running time: \(s(report["total_execution_time"])) · Progress: \(s(report["progress_percentage"]))%", "",
            "## Timeline", "",
        ]
        for phase in report["phases"]?.arrayValue ?? [] {
            lines.append("### Phase \(s(phase["phase_id"])): \(s(phase["name"])) — \(s(phase["status"]))")
            lines.append("")
            lines.append(
                "Started \(s(phase["started_at"])), completed \(s(phase["completed_at"])), took \(s(phase["duration"]))."
            )
            let tasks = phase["tasks"]?.arrayValue ?? []
            if !tasks.isEmpty {
                lines += ["", "| task | status | agent | attempts | estimate | actual |", "|---|---|---|---|---|---|"]
                for t in tasks {
                    lines.append(
                        "| \(s(t["task_id"])) | \(s(t["status"])) | \(s(t["assigned_agent"])) | \(s(t["attempts"])) | \(s(t["estimate"])) | \(s(t["execution_time"])) |"
                    )
                }
            }
            lines.append("")
        }
        // The agents' results (§5: the report covers them), as report.json gives them.
        let agents = report["agents"]?.objectValue ?? [:]
        lines += ["## Agents", ""]
        if agents.isEmpty { lines.append("None.") }
        if !agents.isEmpty {
            lines += ["| agent | completed | failed attempts | runs handed back |", "|---|---|---|---|"]
        }
        for (name, figures) in agents.sorted(by: { $0.key < $1.key }) {
            lines.append(
                "| \(name) | \(s(figures["tasks_completed"])) | \(s(figures["tasks_failed"])) | \(s(figures["runs_handed_back"])) |"
            )
        }
        lines.append("")
        for (title, key) in [("Failures", "failures"), ("Recoveries", "recoveries")] {
            let items = report[key]?.arrayValue ?? []
            lines += ["## \(title)", ""]
            if items.isEmpty { lines.append("None.") }
            for e in items {
                lines.append("- \(s(e["timestamp"])) `\(s(e["event_type"]))` \(e["data"]?.serialized() ?? "")")
            }
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }
}

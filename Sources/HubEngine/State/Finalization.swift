import Foundation
import HubCore

/// The archive and report steps shared by `complete` and `cleanup`.
struct Finalization {
    let hub: Hub

    struct Artifacts {
        var archived: [String] = []
        var report: (markdown: String, json: String)?
        /// Files that could not be written after the commit: `{step, message}`.
        var errors: [JSONValue] = []
        var paths: [String] { archived + (report.map { [$0.markdown, $0.json] } ?? []) }
        var json: JSONValue {
            var json: JSONValue = [
                "archived_files": .strings(archived),
                "report": report.map { ["markdown": .string($0.markdown), "json": .string($0.json)] } ?? .null,
            ]
            if !errors.isEmpty { json["errors"] = .array(errors) }
            return json
        }
    }

    /// Makes sure the folders the archive and report go to can be written, before the
    /// operation commits: a state directory that cannot take them is refused with nothing
    /// changed (the files are written after the commit, from the committed state).
    func prepare(_ workflowID: String, archive: Bool, report: Bool) throws(HubError) {
        let root = hub.stateDirectory
        var folders: [String] = []
        if archive { folders += ["workflows/active", "workflows/completed", "workflows/failed", "events"] }
        if report { folders.append("reports/\(workflowID)") }
        guard !folders.isEmpty else { return }
        folders.append("tmp/\(workflowID)")
        for folder in folders {
            let path = "\(root)/\(folder)"
            let probe = "\(path)/.probe-\(UUID().uuidString)"
            let fm = FileManager.default
            let writable =
                (try? fm.createDirectory(atPath: path, withIntermediateDirectories: true)) != nil
                && fm.createFile(atPath: probe, contents: Data())
            try? fm.removeItem(atPath: probe)
            guard writable else {
                throw HubError(
                    .storeUnavailable,
                    "Cannot write the \(archive ? "archive" : "report") files: \(path) is not a writable directory",
                    details: "Nothing was changed. The state directory must let the hub write under \(root).",
                    context: ["path": .string(path)],
                    suggestions: ["Check the permissions of \(root) and that \(path) is a directory"])
            }
        }
    }

    /// Writes the files from the committed state. The change is committed by now, so a
    /// file that cannot be written (the disk filled since ``prepare(_:archive:report:)``)
    /// is reported in the result's `artifacts.errors`, not as the operation failing.
    func run(_ snapshot: WorkflowSnapshot, archive: Bool, report: Bool) async -> Artifacts {
        var artifacts = Artifacts()
        let exporter = StateExporter(hub: hub)
        if archive {
            do {
                artifacts.archived = try await exporter.exportWorkflow(snapshot)
            } catch {
                artifacts.errors.append([
                    "step": "archive_state", "message": .string((error as? HubError)?.message ?? "\(error)"),
                ])
            }
        }
        if report {
            do {
                artifacts.report = try ReportWriter(hub: hub).write(
                    snapshot, events: try await exporter.events(snapshot.workflow.id))
            } catch {
                artifacts.errors.append([
                    "step": "generate_report", "message": .string((error as? HubError)?.message ?? "\(error)"),
                ])
            }
        }
        return artifacts
    }
}

/// `hub_to_orchestrate` of §12 for a finished workflow.
struct HandoffView {
    let hub: Hub

    /// The artifacts a finalization of `snapshot`'s workflow wrote that are there now (its
    /// state file and event log, its report), for `get-status`, which writes none.
    func existingArtifacts(of snapshot: WorkflowSnapshot) -> [String] {
        let exported = StateExporter(hub: hub).workflowPaths(snapshot.workflow)
        let report = ReportWriter(hub: hub).paths(snapshot.workflow.id)
        return [exported.state, exported.events, report.markdown, report.json].filter {
            FileManager.default.fileExists(atPath: $0)
        }
    }

    func json(_ snapshot: WorkflowSnapshot, artifacts: [String]) -> JSONValue {
        let view = WorkflowStateView(snapshot: snapshot, now: hub.clock.nowMilliseconds())
        return [
            "completion_status": .string(
                CompletionStatus.of(snapshot.tasks, status: snapshot.workflow.status).rawValue),
            "final_state": [
                "status": .string(snapshot.workflow.status.rawValue),
                "current_phase": .count(snapshot.workflow.currentPhase),
                "progress_percentage": .double(
                    snapshot.progressPercentage),
                "state_version": .int(snapshot.workflow.stateVersion),
            ],
            "execution_metrics": view.metrics,
            "artifact_locations": .strings(artifacts),
        ]
    }
}

import Foundation
import HubCore

/// `cleanup`: archive a finished workflow (§5, §17).
enum CleanupWorkflow {
    struct Parameters: OperationParameters {
        var archiveState: Bool?
        var removeTempFiles: Bool?
        var generateReport: Bool?

        static let schema = Schema.object([
            .init(
                "archive_state",
                .boolean(
                    "Write the seed-layout files (workflows/completed or failed/<id>.json, events/<id>_events.jsonl).")),
            .init(
                "remove_temp_files",
                .boolean(
                    "Delete the workflow's temporary files under the state directory, its restore lock file, and checkpoint file contents no checkpoint references."
                )),
            .init("generate_report", .boolean("Write a Markdown and a JSON report under reports/<id>/.")),
        ])
    }

    static let descriptor = OperationDescriptor(
        "cleanup", scope: .workflow, mutating: true, parameters: Parameters.self,
        summary: "Archive a completed, failed or cancelled workflow (its status is kept).",
        discussion:
            "Archived workflows leave list-workflows unless include_archived; reads still work, every mutation is refused but cleanup itself: run again, it writes the files asked for again and changes nothing (a cleanup stopped before it wrote them). The workflow's resource allocations still held (complete with cleanup_resources: false) are released.",
        example:
            "coordination-hub workflow_123 cleanup '{\"archive_state\": true, \"remove_temp_files\": true, \"generate_report\": true}'",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let id = try context.requiredWorkflowID
        let hub = context.hub
        try Finalization(hub: hub).prepare(id, archive: p.archiveState ?? false, report: p.generateReport ?? false)
        let archived = try await hub.mutate(context, allowArchived: true) { m -> Int in
            // Again on an archived workflow: its files only (below), nothing changes.
            if try m.lifecycle(.cleanup) == .finalize { return 0 }
            // What `complete` kept (cleanup_resources: false) ends now: an archived workflow
            // takes no more mutations, release-resources included, so it stayed held for good.
            let released = try m.releaseAllocations(reason: "workflow archived")
            m.workflow.archived = true
            try m.emit("archived", data: ["status": .string(m.workflow.status.rawValue)])
            return released
        }
        let snapshot = try await hub.snapshot(id)
        let artifacts = await Finalization(hub: hub).run(
            snapshot, archive: p.archiveState ?? false, report: p.generateReport ?? false)
        var removed: [String] = []
        if p.removeTempFiles ?? false {
            let temp = StateExporter(hub: hub).temporaryDirectory(id)
            let fm = FileManager.default
            removed = ((try? fm.contentsOfDirectory(atPath: temp)) ?? []).map { "\(temp)/\($0)" }
            if fm.fileExists(atPath: temp) { try? fm.removeItem(atPath: temp) }
            // The lock restores and file checkpoints of the workflow took turns by: an archived
            // workflow takes neither again, and the lock files stayed, one per workflow, for good.
            let lock = RestoreTurn.path(workflowID: id, stateDirectory: hub.stateDirectory)
            if fm.fileExists(atPath: lock), (try? fm.removeItem(atPath: lock)) != nil { removed.append(lock) }
        }
        var contents: JSONValue = .null
        if p.removeTempFiles ?? false {
            // §17: file contents no checkpoint references any more go too.
            let gone = try await hub.store.write { tx in try tx.removeUnreferencedContents() }
            contents = ["count": .count(gone.count), "bytes": .int(gone.bytes)]
        }
        return try await .after(
            hub, id,
            result: [
                "archived": true, "artifacts": artifacts.json, "resources_released": .count(archived.value),
                "temp_files_removed": .strings(removed),
                "unreferenced_contents_removed": contents,
            ])
    }
}

import Foundation
import HubCore

/// `save-state`: export a workflow in the seed's layout, and optionally a portable bundle (§6).
enum SaveState {
    struct Parameters: OperationParameters {
        var includeCheckpoints: Bool?
        var compress: Bool?
        var backupLocation: String?
        static let schema = Schema.object([
            .init(
                "include_checkpoints",
                .boolean(
                    "Put the workflow's checkpoints in the bundle too, with the contents of the files they captured.")),
            .init("compress", .boolean("gzip the bundle. Defaults to the state_compression setting (true).")),
            .init(
                "backup_location",
                .name(
                    "Where to write the bundle: a file, or a directory (ending in / or existing). Relative to the state directory; must lie inside it or an allowed_backup_roots entry.",
                    maxLength: 4096)),
        ])
    }

    static let descriptor = OperationDescriptor(
        "save-state", scope: .workflow, mutating: false, parameters: Parameters.self,
        summary: "Export a workflow to the state directory's files, and optionally to a portable bundle.",
        discussion: """
            Writes workflows/{active,completed,failed}/<id>.json, events/<id>_events.jsonl, agent_pools/*.json, \
            and checkpoints/<id>/<name>.json (an older one of a name taken again as <name>.<checkpoint_id>.json) with \
            latest.json. \
            With backup_location, also one bundle carrying its own checksums; PATH_NOT_ALLOWED when the location \
            resolves (symlinks included) outside the state directory and allowed_backup_roots. include_checkpoints \
            puts the checkpoints in the bundle with their files' contents, so load-state brings them back; a bundle \
            past 1 GiB (what load-state reads) is refused with INVALID_PARAMETERS.
            """,
        example:
            "coordination-hub workflow_123 save-state '{\"include_checkpoints\": true, \"compress\": true, \"backup_location\": \"backups/workflow_123.hubbundle.gz\"}'",
        withoutVersion:
            "save-state exports the workflow and changes nothing, so there is no change for it to guard",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let id = try context.requiredWorkflowID
        let hub = context.hub
        // Check the location before writing anything, so a refused request leaves no files behind.
        var target: String?
        if let location = p.backupLocation {
            let confined = try Paths.confine(
                location, field: "backup_location", stateDirectory: hub.stateDirectory,
                allowedRoots: hub.configuration.allowedBackupRoots)
            try Paths.refuseHubFiles(
                confined, field: "backup_location", stateDirectory: hub.stateDirectory, store: hub.configuration.store)
            target = confined
        }
        // Every section from one read transaction: the files and the bundle show one moment.
        let withCheckpoints = target != nil && (p.includeCheckpoints ?? false)
        let export = try await context.store.read { tx in
            try StateExporter.read(id, checkpointContents: withCheckpoints, in: tx)
        }
        let snapshot = export.snapshot
        let exporter = StateExporter(hub: hub)
        var files = try exporter.writeWorkflow(snapshot, agents: export.agents, events: export.events)
        files += try exporter.writePools(export)
        files += try exporter.exportCheckpoints(export.checkpoints, workflowID: id)
        var result: JSONValue = ["files": .strings(files)]
        if var path = target, let location = p.backupLocation {
            let compress = p.compress ?? hub.configuration.stateCompression
            var isDirectory: ObjCBool = false
            if location.hasSuffix("/")
                || (FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue)
            {
                let stamp = Timestamp.format(milliseconds: context.now).replacingOccurrences(of: ":", with: "")
                    .replacingOccurrences(of: ".", with: "")
                path = (path as NSString).appendingPathComponent("\(id)-\(stamp).hubbundle\(compress ? ".gz" : "")")
            }
            let document = StateBundle.document(
                snapshot: snapshot, pool: export.pool, events: export.events,
                checkpoints: withCheckpoints ? export.checkpoints.map(StateExporter.checkpointJSON) : nil,
                checkpointContents: export.contents, createdAt: context.now)
            let bytes = try StateBundle.encode(document, compress: compress)
            try FileWriter.write(bytes, to: path, temporaryDirectory: exporter.temporaryDirectory(id))
            result["bundle"] = [
                "path": .string(path), "size": .count(bytes.count), "sha256": .string(Checksum.sha256(bytes)),
                "compressed": .bool(compress), "state_version": .int(snapshot.workflow.stateVersion),
            ]
        }
        return OperationOutcome(
            result: result,
            // Only a bundle loads back; the files are for people and tools (§6).
            nextSteps: (target == nil
                ? ["Add backup_location to also write a bundle that load-state can bring back"]
                : ["Load it back with 'coordination-hub \(id) load-state' and {\"bundle\": \"<path>\"}"])
                + NextSteps.after(snapshot),
            stateVersion: snapshot.workflow.stateVersion)
    }
}

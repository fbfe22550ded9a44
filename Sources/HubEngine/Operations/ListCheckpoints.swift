import HubCore
import HubStore

/// `list-checkpoints`: the workflow's checkpoints, newest first, each verified (§17).
enum ListCheckpoints {
    struct Parameters: OperationParameters {
        var limit: Int?
        static let schema = Schema.object([
            .init("limit", .integer("At most this many, newest first. Defaults to 100.", min: 1, max: 1000))
        ])
    }

    static let descriptor = OperationDescriptor(
        "list-checkpoints", scope: .workflow, mutating: false, parameters: Parameters.self,
        summary:
            "List a workflow's checkpoints, newest first, with whether each (and its files' contents) passes its checksum.",
        discussion:
            "Each entry: checkpoint_id, name, trigger, created_at, state_version, event_sequence, valid, file_count.",
        example: "coordination-hub workflow_123 list-checkpoints '{\"limit\": 10}'",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let id = try context.requiredWorkflowID
        let limit = p.limit ?? 100
        let (workflow, verdicts) = try await context.store.read { tx in
            guard let workflow = try tx.workflow(id) else { throw HubError.workflowNotFound(id) }
            // Valid means whole: the snapshot and every file content it names (each distinct content hashed once).
            var validity = CheckpointValidity()
            return (workflow, try tx.checkpoints(of: id, limit: limit).map { try validity.check($0, in: tx) })
        }
        let entries = verdicts.map { $0.checkpoint.summary(valid: $0.isValid) }
        let newestValid = verdicts.first(where: \.isValid)?.checkpoint.checkpointID
        var steps: [String] = []
        if let newestValid {
            steps.append(
                "Restore the newest valid one: coordination-hub \(id) restore '{\"checkpoint_id\": \"\(newestValid)\"}'"
            )
        } else {
            steps.append("Take one: coordination-hub \(id) checkpoint '{\"name\": \"manual\"}'")
        }
        return OperationOutcome(
            result: [
                "checkpoints": .array(entries), "count": .count(entries.count),
                "newest_valid_checkpoint": .optional(newestValid),
            ], nextSteps: steps, stateVersion: workflow.stateVersion)
    }
}

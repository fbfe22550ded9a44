import HubCore
import HubEngine
import HubTesting
import Testing

/// The examples `help` shows, run as shown.
@Suite struct HelpExampleTests {
    /// The parameters of `operation`'s example (the JSON between its single quotes).
    static func exampleParameters(_ operation: String) throws -> String {
        let example = try #require(OperationTable.standard[operation]).example
        let start = try #require(example.firstIndex(of: "'"))
        let end = try #require(example.lastIndex(of: "'"))
        return String(example[example.index(after: start)..<end])
    }

    /// `help save-state` wrote `backups/workflow_123-<time>.hubbundle.gz` while `help
    /// load-state` loaded `backups/workflow_123.hubbundle.gz`: CHECKPOINT_NOT_FOUND. The one
    /// example now loads what the other writes.
    @Test func theLoadStateExampleLoadsWhatTheSaveStateExampleWrites() async throws {
        let t = try TestHub()
        defer { t.remove() }
        await t.run("workflow_123", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}]}]}"#)
        let saved = await t.run("workflow_123", "save-state", try Self.exampleParameters("save-state"))
        #expect(saved.error == nil, "\(saved.json)")
        let loaded = await t.run("workflow_123", "load-state", try Self.exampleParameters("load-state"))
        #expect(loaded.error == nil, "\(loaded.json)")
    }
}

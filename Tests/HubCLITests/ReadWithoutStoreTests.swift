import Foundation
import HubCore
import Testing

/// A read run where no store exists (in the wrong directory, say) answered as an empty
/// store does but left `.claude/coordination/hub.sqlite` behind it.
@Suite struct ReadWithoutStoreTests {
    @Test func aReadWhereNoStoreExistsAnswersAsAnEmptyStoreAndCreatesNothing() throws {
        let hub = try CLISandbox("read-no-store")
        defer { hub.remove() }
        try hub.fail(["workflow_123", "get-status"], code: "WORKFLOW_NOT_FOUND", exit: 1)
        try hub.fail(["workflow_123", "list-checkpoints"], code: "WORKFLOW_NOT_FOUND", exit: 1)
        #expect(try hub.succeed("list-workflows")["workflows"] == [])
        #expect(try hub.succeed("get-events")["events"] == [])
        #expect(try hub.succeed("monitor-pool")["agent_pool"]?["total_agents"] == 0)
        try hub.succeed("get-metrics")
        #expect(!hub.exists(hub.directory.file(".claude")), "a read created the state directory")
        // A change creates the store as before, and the reads then read it.
        try hub.succeed("workflow_123", "create", #"{"phases": ["a"]}"#)
        #expect(hub.exists(hub.state("hub.sqlite")))
        #expect(try hub.succeed("list-workflows")["workflows"]?.arrayValue?.count == 1)
        #expect(try hub.workflowState("workflow_123")["status"] == "created")
    }

    /// `--state-dir` naming a directory that is not there: the same, nothing made.
    @Test func aReadInAStateDirectoryThatIsNotThereLeavesItSo() throws {
        let hub = try CLISandbox("read-no-dir")
        defer { hub.remove() }
        let missing = hub.directory.file("elsewhere/state")
        #expect(try hub.succeed("--state-dir", missing, "list-workflows")["total"] == 0)
        #expect(!hub.exists(hub.directory.file("elsewhere")))
    }
}

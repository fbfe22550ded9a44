import HubCore
import HubEngine
import HubTesting
import Testing

/// A claim looks past ready tasks it cannot take to the ones it can (§7: the best eligible
/// task). It read at most 888 candidates per role, so that many tasks it could not take in
/// front of one it could made it answer "Nothing is eligible now" (found by session 25's probe).
@Suite struct ClaimWindowTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    static func tasks(_ count: Int, _ extra: String = "") -> String {
        (0..<count).map { "{\"task_id\": \"t\($0)\"\(extra)}" }.joined(separator: ", ")
    }

    /// A large high-priority workflow whose pool leaves the agent out.
    @Test func anOutsiderOfALargePooledWorkflowGetsAnotherWorkflowsTask() async throws {
        await t.run(
            "wa", "create",
            "{\"priority\": \"high\", \"phases\": [{\"name\": \"p\", \"tasks\": [\(Self.tasks(1000))]}]}")
        await t.run("wa", "start")
        await t.run("wb", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "only"}]}]}"#)
        await t.run("wb", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "member"}"#)
        #expect(await t.run("wa", "assign-agents", #"{"agent_count": 1}"#).succeeded)
        await t.run(nil, "register-agent", #"{"agent_id": "outsider"}"#)
        let claimed = await t.claim("outsider")
        #expect(claimed.first?["workflow_id"] == "wb", "\(claimed)")
        #expect(claimed.first?["task_id"] == "only")
        #expect(await t.claim("member").first?["workflow_id"] == "wa")
    }

    /// Many tasks waiting on one file a running task holds, in front of one that needs none.
    @Test func tasksWaitingOnAHeldFileDoNotHideAFreeOne() async throws {
        await t.run(
            "w1", "create",
            "{\"phases\": [{\"name\": \"p\", \"tasks\": [\(Self.tasks(1000, ", \"priority\": \"high\", \"files\": [\"shared.txt\"]")), {\"task_id\": \"free\", \"priority\": \"low\"}]}]}"
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "one"}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "two"}"#)
        #expect(await t.claim("one").first?["task_id"] == "t0")
        let second = await t.claim("two")
        #expect(second.first?["task_id"] == "free", "\(second)")
    }
}

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

    /// A role named twice among an agent's specializations made a claim of two tasks read and
    /// choose one task twice, and fail with STORE_UNAVAILABLE on its second lease.
    @Test func aRoleNamedTwiceIsReadOnce() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "a", "role": "code"}, {"task_id": "b", "role": "code"}]}]}"#
        )
        await t.run("w1", "start")
        let registered = await t.run(
            nil, "register-agent", #"{"agent_id": "d", "specializations": ["code", "code"], "max_concurrent_tasks": 2}"#
        )
        #expect(registered.result["agent"]?["specializations"] == ["code"], "\(registered.json)")
        let claimed = await t.run(nil, "claim-task", #"{"agent_id": "d", "max_tasks": 2}"#)
        #expect(claimed.result["count"] == 2, "\(claimed.json)")
    }

    /// A task reserved for the agent comes first (§7) wherever it stands in the pages' order:
    /// behind eight higher-priority tasks it was passed over for them (found by session 25's
    /// regression probe).
    @Test func aReservedTaskComesFirstBehindAFullPage() async throws {
        await t.run("w", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "r", "priority": "low"}]}]}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "old"}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "new", "max_concurrent_tasks": 5}"#)
        await t.run("w", "start")
        #expect(await t.claim("old").first?["task_id"] == "r")
        let high = (1...8).map { "{\"task_id\": \"h\($0)\", \"priority\": \"high\"}" }.joined(separator: ", ")
        #expect(await t.run("w", "add-tasks", "{\"tasks\": [\(high)]}").succeeded)
        #expect(await t.run("w", "redistribute-tasks", #"{"failed_agent": "old"}"#).succeeded)
        let claimed = await t.claim("new")
        #expect(claimed.first?["task_id"] == "r", "\(claimed)")
    }

    /// One role's page full of tasks held back by a file, and a better task of that role on the
    /// next page: the claim took the other role's lower task (found by session 25's regression
    /// probe).
    @Test func aBetterTaskOnAnotherRolesNextPageIsTakenFirst() async throws {
        let blocked = (1...8).map {
            "{\"task_id\": \"b\($0)\", \"role\": \"docs\", \"priority\": \"high\", \"files\": [\"f.txt\"]}"
        }.joined(separator: ", ")
        await t.run(
            "w", "create",
            "{\"phases\": [{\"name\": \"p\", \"tasks\": [{\"task_id\": \"holder\", \"role\": \"docs\", \"priority\": \"high\", \"files\": [\"f.txt\"]}, \(blocked), {\"task_id\": \"ok\", \"role\": \"docs\", \"priority\": \"high\"}, {\"task_id\": \"any\", \"priority\": \"low\"}]}]}"
        )
        await t.run(nil, "register-agent", #"{"agent_id": "w1", "specializations": ["docs"]}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "w2", "specializations": ["docs"]}"#)
        await t.run("w", "start")
        #expect(await t.claim("w1").first?["task_id"] == "holder")
        let claimed = await t.claim("w2")
        #expect(claimed.first?["task_id"] == "ok", "\(claimed)")
    }
}

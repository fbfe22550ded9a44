import HubCore
import HubEngine
import HubTesting
import Testing

@Suite struct ResourceEngineTests {
    let t: TestHub
    init() throws {
        var config = Configuration()
        config.resources = ["database": 2]
        t = try TestHub(configuration: config)
    }

    func allocate(_ json: String, workflow: String? = nil) async -> OperationResponse {
        await t.run(workflow, "allocate-resources", json)
    }

    /// Missing and empty are told apart: "is required" for `{}` given read as if it were not.
    @Test func anEmptyRequestSaysItIsEmpty() async {
        let empty = await allocate(#"{"resources": {}}"#)
        #expect(empty.errorCode == "INVALID_PARAMETERS")
        #expect(empty.error?.message.contains("is empty") == true, "\(empty.json)")
        let missing = await allocate(#"{}"#)
        #expect(missing.error?.message.contains("is required") == true, "\(missing.json)")
    }

    /// A task needing more units than a resource holds was offered as ready and never claimed.
    @Test func aTaskNeedingMoreThanTheCapacityIsRefused() async throws {
        let created = await t.run(
            "w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "t1", "resources": {"database": 3}}]}]}"#)
        #expect(created.errorCode == "INVALID_PARAMETERS")
        #expect(created.error?.message.contains("capacity is 2") == true, "\(created.json)")
        #expect(await t.run("w1", "create", #"{"phases": ["p"]}"#).succeeded)
        let added = await t.run("w1", "add-tasks", #"{"tasks": [{"task_id": "t2", "resources": ["gpu", "gpu"]}]}"#)
        #expect(added.errorCode == "INVALID_PARAMETERS")
        #expect(added.error?.context?["task_id"] == "t2")
    }

    /// A resource named file:<path> is the file: a task holding it ran beside one that declared
    /// the same file in files, and its path was not checked.
    @Test func aFileResourceIsTheTasksFile() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "res", "resources": ["file:x.txt"]}, {"task_id": "file", "files": ["x.txt"]}]}]}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "a1", "max_concurrent_tasks": 5}"#)
        let claimed = await t.run(nil, "claim-task", #"{"agent_id": "a1", "max_tasks": 5}"#).result["tasks"]
        #expect(claimed?.arrayValue?.count == 1, "\(String(describing: claimed))")
        let outside = await t.run(
            "w2", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "t", "resources": ["file:../../etc/passwd"]}]}]}"#)
        #expect(outside.errorCode == "INVALID_PARAMETERS")
    }

    /// Terms given with request_id were dropped without a word (the old request answered), and a
    /// release named by an allocation and another's request released the allocation.
    @Test func conflictingIdentifiersAreRefused() async throws {
        let first = await allocate(#"{"resources": {"m": 1}}"#)
        let request = try #require(first.result["request_id"]?.stringValue)
        let polled = await allocate("{\"request_id\": \"\(request)\", \"resources\": {\"z\": 1}}")
        #expect(polled.errorCode == "INVALID_PARAMETERS")
        #expect(polled.error?.context?["field"] == "resources")
        let other = await allocate(#"{"resources": {"p": 1}}"#)
        let allocation = try #require(other.result["allocation_id"]?.stringValue)
        let mixed = await t.run(
            nil, "release-resources", "{\"request_id\": \"\(request)\", \"allocation_id\": \"\(allocation)\"}")
        #expect(mixed.errorCode == "INVALID_PARAMETERS")
        // Both still held: the refusal changed nothing.
        #expect(await allocate(#"{"resources": {"p": 1}}"#).result["state"] == "queued")
        #expect(await allocate("{\"request_id\": \"\(request)\"}").result["state"] == "granted")
    }

    @Test func grantsAllOrNothingAndQueuesTheRest() async throws {
        let first = await allocate(#"{"resources": {"database": 2}}"#)
        #expect(first.result["state"] == "granted")
        #expect(first.result["allocation_id"]?.stringValue?.hasPrefix("alloc_") == true)
        let second = await allocate(#"{"resources": {"database": 1, "cache": 1}}"#)
        #expect(second.result["state"] == "queued")
        let requestID = try #require(second.result["request_id"]?.stringValue)
        // Nothing partial: the free cache is not held while the database is busy.
        #expect(await allocate(#"{"resources": {"cache": 1}}"#).result["state"] == "queued")
        await t.run(
            nil, "release-resources", "{\"allocation_id\": \"\(first.result["allocation_id"]?.stringValue ?? "")\"}")
        let polled = await allocate("{\"request_id\": \"\(requestID)\"}")
        #expect(polled.result["state"] == "granted")
    }

    /// Events of requests of no workflow carry metadata too (they had none): the agent's
    /// correlation id, or the request's own; a release causes the grant it makes room for.
    @Test func resourceEventsOfNoWorkflowCarryCorrelationAndCause() async throws {
        await t.run(nil, "register-agent", #"{"agent_id": "a1", "specializations": ["code"]}"#)
        let holder = await allocate(#"{"resources": {"gpu": 1}, "agent_id": "a1"}"#)
        let waiter = await allocate(#"{"resources": {"gpu": 1}}"#)
        let waiterID = try #require(waiter.result["request_id"]?.stringValue)
        await t.run(
            nil, "release-resources", "{\"allocation_id\": \"\(holder.result["allocation_id"]?.stringValue ?? "")\"}")
        let events =
            await t.run(nil, "get-events", #"{"patterns": ["hub.resources.#"]}"#).result["events"]?
            .arrayValue ?? []
        let byType = Dictionary(events.map { ($0["event_type"]?.stringValue ?? "", $0) }) { first, _ in first }
        #expect(byType["resource_requested"]?["metadata"]?["correlation_id"] == "corr_agent_a1", "\(events)")
        let released = try #require(byType["resource_released"])
        #expect(released["metadata"]?["correlation_id"] == "corr_agent_a1")
        let granted = try #require(events.last { $0["event_type"] == "resource_allocated" })
        #expect(granted["metadata"]?["correlation_id"] == .string("corr_\(waiterID)"))
        #expect(granted["metadata"]?["causation_id"] == released["event_id"])
    }

    @Test func higherPriorityGoesFirst() async throws {
        let holder = await allocate(#"{"resources": {"gpu": 1}}"#)
        let low = await allocate(#"{"resources": {"gpu": 1}, "priority": "low"}"#)
        let high = await allocate(#"{"resources": {"gpu": 1}, "priority": "high"}"#)
        await t.run(
            nil, "release-resources", "{\"allocation_id\": \"\(holder.result["allocation_id"]?.stringValue ?? "")\"}")
        #expect(
            await allocate("{\"request_id\": \"\(high.result["request_id"]?.stringValue ?? "")\"}").result["state"]
                == "granted")
        #expect(
            await allocate("{\"request_id\": \"\(low.result["request_id"]?.stringValue ?? "")\"}").result["state"]
                == "queued")
    }

    @Test func readersShareAndExcludeWriters() async throws {
        let reader = #"{"resources": {"doc": 1}, "constraints": {"conflict_tolerance": "high"}}"#
        #expect(await allocate(reader).result["state"] == "granted")
        #expect(await allocate(reader).result["state"] == "granted")
        #expect(await allocate(#"{"resources": {"doc": 1}}"#).result["state"] == "queued")
    }

    @Test func aQueuedRequestExpiresAfterItsWait() async throws {
        _ = await allocate(#"{"resources": {"gpu": 1}}"#)
        let queued = await allocate(#"{"resources": {"gpu": 1}, "constraints": {"max_wait_time": "1m"}}"#)
        t.clock.advance(by: .minutes(2))
        let polled = await allocate("{\"request_id\": \"\(queued.result["request_id"]?.stringValue ?? "")\"}")
        #expect(polled.errorCode == "RESOURCE_TIMEOUT")
    }

    @Test func aWaitOfZeroGetsOneLookAndKeepsNothingWhenRefused() async throws {
        let now = #"{"resources": {"gpu": 1}, "constraints": {"max_wait_time": "0s"}}"#
        #expect(await allocate(now).result["state"] == "granted")
        let refused = await allocate(now)
        #expect(refused.errorCode == "RESOURCE_TIMEOUT")
        // Nothing of the refused request is kept: no request, no event.
        let events = await t.run(nil, "get-events", #"{"event_types": ["resource_requested"]}"#)
        #expect(events.result["count"] == 1)
    }

    @Test func aFinishedOrArchivedWorkflowGetsNoAllocation() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        await t.run("w1", "cancel")
        let version = await t.run("w1", "get-status").result["workflow_state"]?["state_version"]
        #expect(await allocate(#"{"resources": {"db2": 1}}"#, workflow: "w1").errorCode == "INVALID_TRANSITION")
        await t.run("w1", "cleanup")
        let archived = await t.run("w1", "get-status").result["workflow_state"]?["state_version"]
        #expect(archived != version)
        #expect(await allocate(#"{"resources": {"db2": 1}}"#, workflow: "w1").errorCode == "INVALID_TRANSITION")
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["state_version"] == archived)
        // The resource stays free for everyone else.
        #expect(await allocate(#"{"resources": {"db2": 1}}"#).result["state"] == "granted")
        #expect(await allocate(#"{"resources": {"db2": 1}}"#, workflow: "nope").errorCode == "WORKFLOW_NOT_FOUND")
    }

    /// `complete` may keep a workflow's allocations (cleanup_resources: false); archiving it
    /// left them held for good, since an archived workflow takes no release-resources.
    @Test func archivingAWorkflowReleasesTheAllocationsItKept() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        await t.run("w1", "start")
        #expect(await allocate(#"{"resources": {"database": 2}}"#, workflow: "w1").result["state"] == "granted")
        #expect(await t.run("w1", "complete", #"{"force": true, "cleanup_resources": false}"#).succeeded)
        #expect(
            await allocate(#"{"resources": {"database": 1}, "constraints": {"max_wait_time": "0s"}}"#).succeeded
                == false)
        let cleaned = await t.run("w1", "cleanup")
        #expect(cleaned.result["resources_released"] == 1, "\(cleaned.json)")
        #expect(await allocate(#"{"resources": {"database": 2}}"#).result["state"] == "granted")
    }

    @Test func aRequestLargerThanCapacityIsRefused() async throws {
        let refused = await allocate(#"{"resources": {"database": 3}}"#)
        #expect(refused.errorCode == "INVALID_PARAMETERS")
        #expect(refused.error?.message.contains("capacity is 2") == true)
    }

    @Test func allocatedResourcesAndFilesHoldBackTasksThatNeedThem() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "a", "files": ["src/a.swift"]}, {"task_id": "b", "resources": ["gpu"]}]}]}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag", "max_concurrent_tasks": 2}"#)
        // Relative to nothing without a workflow: refused (it resolved against the hub's working directory).
        let nowhere = await allocate(#"{"resources": {"file:./src/a.swift": 1}}"#)
        #expect(nowhere.errorCode == "INVALID_PARAMETERS")
        #expect(nowhere.json["error"]?["context"]?["field"] == "resources.file:./src/a.swift")
        let file = await allocate(#"{"resources": {"file:./src/a.swift": 1}}"#, workflow: "w1")
        let gpu = await allocate(#"{"resources": {"gpu": 1}}"#)
        #expect(await t.run(nil, "claim-task", #"{"agent_id": "ag", "max_tasks": 2}"#).result["count"] == 0)
        await t.run(
            nil, "release-resources", "{\"allocation_id\": \"\(gpu.result["allocation_id"]?.stringValue ?? "")\"}")
        let claimed =
            await t.run(nil, "claim-task", #"{"agent_id": "ag", "max_tasks": 2}"#).result["tasks"]?.arrayValue ?? []
        #expect(claimed.map { $0["task_id"] } == ["b"])
        // The workflow's allocation ends with the workflow.
        await t.run("w1", "cancel")
        #expect(
            await t.run(
                nil, "release-resources", "{\"allocation_id\": \"\(file.result["allocation_id"]?.stringValue ?? "")\"}"
            ).result["state"] == "released")
        let released = await t.run("w1", "get-events", #"{"event_types": ["resource_released"]}"#).result["count"]
        #expect(released == 1)
    }

    @Test func theCriticalPathGoesFirst() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "short", "estimate": "1m"}, {"task_id": "head", "estimate": "1m"}, {"task_id": "tail", "estimate": "30m", "depends_on": ["head"]}]}]}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        #expect(
            await t.run(nil, "claim-task", #"{"agent_id": "ag"}"#).result["tasks"]?.arrayValue?.first?["task_id"]
                == "head")
    }

    @Test func reservationsOfAGoneAgentAreReleasedAndImbalanceMovesThem() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}, {"task_id": "b"}, {"task_id": "c"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "old", "max_concurrent_tasks": 3}"#)
        _ = await t.run(nil, "claim-task", #"{"agent_id": "old", "max_tasks": 3}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "x", "max_concurrent_tasks": 5}"#)
        let moved = await t.run("w1", "redistribute-tasks", #"{"failed_agent": "old", "strategy": "round_robin"}"#)
        #expect(moved.result["new_assignments"]?.arrayValue?.allSatisfy { $0["target_agent"] == "x" } == true)
        await t.run(nil, "register-agent", #"{"agent_id": "y", "max_concurrent_tasks": 5}"#)
        await t.run(nil, "heartbeat", #"{"agent_id": "y"}"#)
        let imbalance =
            await t.run("w1", "get-events", #"{"event_types": ["tasks_redistributed"]}"#).result["events"]?.arrayValue
            ?? []
        #expect(imbalance.contains { $0["data"]?["reason"] == "load_imbalance" })
        #expect(await t.run(nil, "claim-task", #"{"agent_id": "y", "max_tasks": 5}"#).result["count"] == 1)
    }

    /// §7: a deregistered agent's unstarted reservations are released by the deregistration
    /// itself (they waited for the next dispatcher operation, naming the gone agent until then).
    @Test func deregisteringReleasesTheAgentsReservations() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "old"}"#)
        _ = await t.run(nil, "claim-task", #"{"agent_id": "old"}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "w"}"#)
        await t.run("w1", "redistribute-tasks", #"{"failed_agent": "old"}"#)
        func reserved() async -> JSONValue? {
            await t.run("w1", "get-status").result["workflow_state"]?["phases"]?.arrayValue?.first?["tasks"]?
                .arrayValue?.first?["reserved_for"]
        }
        #expect(await reserved() == "w")
        #expect(await t.run(nil, "deregister-agent", #"{"agent_id": "w"}"#).succeeded)
        #expect(await reserved() == nil)
        let released = await t.run("w1", "get-events", #"{"event_types": ["task_redistributed"]}"#)
        #expect(released.result["events"]?.arrayValue?.last?["data"]?["reason"] == "reserved_agent_unavailable")
    }
}

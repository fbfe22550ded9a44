import HubCore
import Testing

@Suite struct TaskSelectionTests {
    func agent(_ id: String = "a1", roles: [String] = ["code"], capacity: Int = 1) -> Agent {
        Agent(agentID: id, specializations: roles, maxConcurrentTasks: capacity, registeredAt: 0)
    }

    func candidate(
        _ id: String, role: String? = "code", workflow: String = "w", _ tweak: (inout TaskCandidate) -> Void = { _ in }
    )
        -> TaskCandidate
    {
        var c = TaskCandidate(workflowID: workflow, taskID: id, role: role)
        tweak(&c)
        return c
    }

    func pick(_ candidates: [TaskCandidate], _ agent: Agent, _ context: SelectionContext = .init(), limit: Int = 10)
        -> [String]
    {
        TaskSelection.choose(from: candidates, for: agent, context: context, limit: limit).map(\.taskID)
    }

    @Test func onlyTasksOfTheAgentsRolesOrOfNoRole() {
        let tasks = [candidate("docs", role: "docs"), candidate("code"), candidate("any", role: nil)]
        #expect(pick(tasks, agent(capacity: 5)) == ["code", "any"])
    }

    @Test func freeCapacityBoundsTheClaim() {
        var busy = agent(capacity: 3)
        busy.currentLoad = 2
        #expect(pick([candidate("t1"), candidate("t2"), candidate("t3")], busy).count == 1)
        busy.currentLoad = 3
        #expect(pick([candidate("t1")], busy).isEmpty)
    }

    @Test func workflowPriorityThenTaskPriority() {
        let tasks = [
            candidate("low-wf-high-task", workflow: "w1") {
                $0.workflowPriority = .low
                $0.taskPriority = .high
            },
            candidate("high-wf-low-task", workflow: "w2") {
                $0.workflowPriority = .high
                $0.taskPriority = .low
            },
            candidate("high-wf-high-task", workflow: "w2") {
                $0.workflowPriority = .high
                $0.taskPriority = .high
            },
        ]
        #expect(pick(tasks, agent(capacity: 3)) == ["high-wf-high-task", "high-wf-low-task", "low-wf-high-task"])
    }

    @Test func criticalPathFirstAmongEqualPriorities() {
        let tasks = [
            candidate("short") { $0.criticalPath = 60_000 }, candidate("long") { $0.criticalPath = 600_000 },
        ]
        #expect(pick(tasks, agent(), limit: 1) == ["long"])
    }

    @Test func theAgentsSuccessRateOnTheTypeThenTheOldest() {
        var a = agent(roles: ["code", "test"], capacity: 3)
        a.record.add(.init(succeeded: true, milliseconds: 1, estimateMilliseconds: nil, taskType: "test"))
        a.record.add(.init(succeeded: false, milliseconds: 1, estimateMilliseconds: nil, taskType: "code"))
        let tasks = [
            candidate("code-new") { $0.createdAt = 20 }, candidate("code-old") { $0.createdAt = 10 },
            candidate("test", role: "test") { $0.createdAt = 30 },
        ]
        #expect(pick(tasks, a) == ["test", "code-old", "code-new"])
    }

    @Test func tasksSharingAHeldFileAreSkipped() {
        let tasks = [candidate("t1") { $0.files = ["src/a.swift"] }, candidate("t2") { $0.files = ["src/b.swift"] }]
        #expect(pick(tasks, agent(capacity: 2), SelectionContext(heldFiles: ["src/a.swift"])) == ["t2"])
    }

    @Test func twoTasksOfOneClaimDoNotShareAFile() {
        let tasks = [candidate("t1") { $0.files = ["f"] }, candidate("t2") { $0.files = ["f"] }]
        #expect(pick(tasks, agent(capacity: 2)) == ["t1"])
    }

    @Test func resourcesMustBeFreeForTheWholeRequest() {
        let tasks = [
            candidate("big") { $0.resources = ["db": 2] }, candidate("small") { $0.resources = ["db": 1] },
        ]
        let context = SelectionContext(freeResources: ["db": 1])
        #expect(pick(tasks, agent(capacity: 2), context) == ["small"])
        #expect(pick([candidate("x") { $0.resources = ["gpu": 1] }], agent()) == ["x"])
        #expect(pick([candidate("x") { $0.resources = ["gpu": 2] }], agent()).isEmpty)
    }

    @Test func reservationsAreHonoured() {
        let tasks = [
            candidate("mine") { $0.reservedFor = "a1" }, candidate("theirs") { $0.reservedFor = "a2" },
            candidate("open"),
        ]
        #expect(pick(tasks, agent(capacity: 3)) == ["mine", "open"])
        #expect(pick(tasks, agent("a2", capacity: 3)) == ["theirs", "open"])
    }

    @Test func poolsAdmitOnlyTheirMembers() {
        let context = SelectionContext(pools: ["w": ["a2"]])
        #expect(pick([candidate("t")], agent("a1"), context).isEmpty)
        #expect(pick([candidate("t")], agent("a2"), context) == ["t"])
    }

    @Test func degradedAgentsOnlyWhenNoHealthyAgentHasCapacity() {
        var degraded = agent()
        for _ in 0..<5 {
            degraded.record.add(.init(succeeded: false, milliseconds: 1, estimateMilliseconds: nil, taskType: "code"))
        }
        #expect(degraded.record.isDegraded)
        let healthyAround = SelectionContext(healthyAgents: [agent("h")])
        #expect(pick([candidate("t")], degraded, healthyAround).isEmpty)
        #expect(pick([candidate("t")], degraded, SelectionContext()) == ["t"])
        // A healthy agent outside the workflow's pool cannot take its tasks, so it does not count.
        let outsideThePool = SelectionContext(pools: ["w": [degraded.agentID]], healthyAgents: [agent("h")])
        #expect(pick([candidate("t")], degraded, outsideThePool) == ["t"])
    }

    @Test func unresponsiveOrOfflineAgentsGetNothing() {
        var a = agent()
        a.status = .unresponsive
        #expect(pick([candidate("t")], a).isEmpty)
        a.status = .offline
        #expect(pick([candidate("t")], a).isEmpty)
    }
}

@Suite struct TrackRecordTests {
    @Test func successRateAndScoresFromFinishedTasks() {
        var record = TrackRecord()
        #expect(record.successRate == nil)
        #expect(record.performanceScore == nil)
        record.add(.init(succeeded: true, milliseconds: 60_000, estimateMilliseconds: 60_000, taskType: "code"))
        record.add(.init(succeeded: true, milliseconds: 120_000, estimateMilliseconds: 60_000, taskType: "code"))
        record.add(.init(succeeded: false, milliseconds: 10_000, estimateMilliseconds: 60_000, taskType: "code"))
        #expect(record.successRate == 66.7)
        #expect(record.recentPerformance == [100, 50, 0])
        #expect(record.performanceScore == 50.0)
        #expect(record.averageTaskTime == HubDuration(milliseconds: 63_333))
    }

    @Test func theRecentWindowKeepsFive() {
        var record = TrackRecord()
        for n in 0..<7 {
            record.add(.init(succeeded: n % 2 == 0, milliseconds: 1, estimateMilliseconds: nil, taskType: nil))
        }
        #expect(record.recentPerformance.count == 5)
        #expect(record.tasksCompleted == 4)
        #expect(record.tasksFailed == 3)
    }

    @Test func slowButSuccessfulAgentsDegradePastTwiceTheirEstimates() {
        var record = TrackRecord()
        for _ in 0..<5 {
            record.add(.init(succeeded: true, milliseconds: 250, estimateMilliseconds: 100, taskType: nil))
        }
        #expect(record.isDegraded && record.degradation == "slow")
        var fine = TrackRecord()
        for _ in 0..<5 { fine.add(.init(succeeded: true, milliseconds: 150, estimateMilliseconds: 100, taskType: nil)) }
        #expect(!fine.isDegraded)
    }

    @Test func criticalPathSumsTheLongestChainOfDependents() {
        func task(_ id: String, _ minutes: Int64, _ deps: [String] = []) -> WorkTask {
            var t = WorkTask(workflowID: "w", taskID: id, phaseID: 1, createdAt: 0)
            t.estimate = .minutes(minutes)
            t.dependsOn = deps
            return t
        }
        let lengths = CriticalPath.lengths([
            task("a", 1), task("b", 10, ["a"]), task("c", 2, ["a"]), task("d", 5, ["c"]),
        ])
        #expect(lengths["a"] == HubDuration.minutes(11).milliseconds)
        #expect(lengths["c"] == HubDuration.minutes(7).milliseconds)
        #expect(lengths["b"] == HubDuration.minutes(10).milliseconds)
    }
}

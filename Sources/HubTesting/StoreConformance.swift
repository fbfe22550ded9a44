import HubCore
import HubStore

/// The behaviour every ``Store`` must have, written once and run against each
/// store (River's driver tests, Oban's engine matrix). Each case throws a
/// ``ConformanceFailure`` describing what the store got wrong.
public enum StoreConformance {
    /// A broken expectation.
    public struct ConformanceFailure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Every case, by name.
    public static let cases: [(name: String, run: @Sendable (any Store) async throws -> Void)] =
        [
            ("insert and read a workflow with phases and tasks", insertAndRead),
            ("a duplicate workflow id is WORKFLOW_EXISTS", duplicateWorkflow),
            ("a failed write changes nothing", failedWriteChangesNothing),
            ("event sequences strictly increase and filter", eventSequences),
            ("listing filters by status and archived, pages", listing),
            ("concurrent writes each commit", concurrentWrites),
            ("removing contents keeps the workflow", removeContents),
            ("an update replaces every field, indexed or not", updatesReplaceEveryField),
        ] + eventCases + consumerCases + checkpointCases + counterCases + agentCases

    static func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw ConformanceFailure(description: message()) }
    }

    static func sample(_ id: String, now: Int64 = 1_000) -> WorkflowSnapshot {
        let workflow = Workflow(
            id: id, name: "Sample \(id)",
            configuration: WorkflowConfiguration(timeout: .hours(1), checkpointInterval: .minutes(15)),
            workspace: "/tmp",
            createdAt: now, totalPhases: 2, correlationID: "corr_\(id)")
        let phases = [
            Phase(workflowID: id, phaseID: 1, name: "build"), Phase(workflowID: id, phaseID: 2, name: "test"),
        ]
        var a = WorkTask(workflowID: id, taskID: "a", phaseID: 1, description: "first", createdAt: now)
        a.files = ["src/a.swift"]
        a.resources = ["database": 1]
        a.payload = ["k": [1, 2]]
        a.estimate = .minutes(5)
        var b = WorkTask(workflowID: id, taskID: "b", phaseID: 2, createdAt: now)
        b.dependsOn = ["a"]
        b.role = "test"
        return WorkflowSnapshot(workflow: workflow, phases: phases, tasks: [a, b])
    }

    static func insert(_ s: WorkflowSnapshot, into store: any Store) async throws {
        try await store.write { tx in
            try tx.insert(s.workflow)
            try tx.insert(s.phases)
            try tx.insert(s.tasks)
        }
    }

    static func insertAndRead(_ store: any Store) async throws {
        let s = sample("conf_read")
        try await insert(s, into: store)
        let back = try await store.read { tx in
            WorkflowSnapshot(
                workflow: try tx.workflow("conf_read") ?? s.workflow, phases: try tx.phases(of: "conf_read"),
                tasks: try tx.tasks(of: "conf_read"))
        }
        try expect(back == s, "the stored workflow differs from what was written: \(back) vs \(s)")
        let missing = try await store.read { tx in try tx.workflow("conf_missing") }
        try expect(missing == nil, "an unknown id returned a workflow")
    }

    /// The SQLite store leaves columns whose value did not change out of its UPDATEs; each
    /// field must still take its new value, the indexed ones (status, archived, deadline,
    /// creation time, role, reservation) included, alone or together.
    /// Gives every field of `task` but its key and phase a value of its own, different for
    /// each `n`, so that values bound to each other's places do not read back as they were.
    static func varyEveryField(of task: inout WorkTask, _ n: Int) {
        let base = Int64(n) * 1_000
        task.description = "described \(n)"
        task.role = "role_\(n)"
        task.status = n == 1 ? .completed : .failed
        task.dependsOn = ["x\(n)"]
        task.files = ["src/f\(n).swift"]
        task.resources = ["gpu": n + 1]
        task.priority = n == 1 ? .high : .low
        task.estimate = .minutes(base + 7)
        task.timeout = .minutes(base + 11)
        task.maxRetries = Int(base) + 13
        task.attempts = Int(base) + 17
        task.risky = n == 1
        task.evidence = ["tests_\(n)": "pass"]
        task.verifiedEvidence = ["commit": .string("c0ffee\(n)")]
        task.command = "make check_\(n)"
        task.payload = ["p": .int(base + 19)]
        task.assignedAgent = "agent_\(base + 23)"
        task.result = ["summary": .string("done \(n)")]
        task.lastError = ["reason": .string("flaky \(n)")]
        task.startedAt = (base + 29) * 1_000
        task.completedAt = (base + 31) * 1_000
        task.executionMilliseconds = base + 37
        task.criticalPathMilliseconds = base + 41
        task.reservedFor = "agent_\(base + 43)"
        task.runDeadline = (base + 47) * 1_000
        task.queuedBy = "evt_\(base + 53)"
    }

    static func updatesReplaceEveryField(_ store: any Store) async throws {
        let s = sample("conf_update")
        try await insert(s, into: store)
        var workflow = s.workflow
        var task = s.tasks[0]
        for step in 0..<5 {
            switch step {
            case 0:
                workflow.stateVersion += 1  // no indexed column changes
                task.attempts += 1
            case 1:
                workflow.status = .running
                workflow.archived = true
                workflow.runningSince = 5_000
                workflow.createdAt = 900
                task.status = .ready
                task.reservedFor = "agent_1"
                task.queuedBy = "evt_retried"
                task.role = "build"
                task.createdAt = 800
            case 2:
                workflow.status = .paused
                task.status = .running
                task.reservedFor = nil
                task.queuedBy = nil
                task.runDeadline = 9_000
                task.phaseID = 2
            case 3:
                // Every field but the phase (an update that keeps the phase leaves it out
                // of its SET): each must still land in its own place.
                varyEveryField(of: &task, 2)
            default:
                task.phaseID = 1
                varyEveryField(of: &task, 1)
            }
            let (w, t) = (workflow, task)
            try await store.write { tx in
                try tx.update(w)
                try tx.update(t)
            }
            let back = try await store.read { tx in
                (try tx.workflow("conf_update"), try tx.tasks(of: "conf_update").first { $0.taskID == t.taskID })
            }
            try expect(back.0 == w, "step \(step): the workflow reads back as \(String(describing: back.0))")
            try expect(back.1 == t, "step \(step): the task reads back as \(String(describing: back.1))")
        }
    }

    static func duplicateWorkflow(_ store: any Store) async throws {
        let s = sample("conf_dup")
        try await insert(s, into: store)
        do {
            try await insert(s, into: store)
            try expect(false, "inserting the same id twice succeeded")
        } catch let error as HubError {
            try expect(error.code == .workflowExists, "expected WORKFLOW_EXISTS, got \(error.code)")
        }
    }

    static func failedWriteChangesNothing(_ store: any Store) async throws {
        let s = sample("conf_fail")
        try await insert(s, into: store)
        let before = try await store.read { tx in try tx.lastEventSequence() }
        do {
            try await store.write { tx in
                var w = s.workflow
                w.name = "changed"
                try tx.update(w)
                _ = try tx.append(
                    EventDraft(eventType: "x", workflowID: "conf_fail", phase: 0, subject: "workflow.conf_fail.x"),
                    eventID: "evt_conf_fail", timestamp: 1)
                throw HubError(.invalidParameters, "abort")
            }
        } catch {}
        let (name, after) = try await store.read { tx in
            (try tx.workflow("conf_fail")?.name, try tx.lastEventSequence())
        }
        try expect(name == s.workflow.name, "a rolled-back update is visible")
        try expect(after == before, "a rolled-back event is visible")
    }

    static func eventSequences(_ store: any Store) async throws {
        let appended = try await store.write { tx in
            try (0..<5).map { n in
                try tx.append(
                    EventDraft(
                        eventType: n % 2 == 0 ? "even" : "odd", workflowID: "conf_events", phase: 1,
                        data: ["n": .int(Int64(n))], subject: "workflow.conf_events.x", metadata: .init(tags: ["t"])),
                    eventID: "evt_conf_\(n)", timestamp: Int64(n))
            }
        }
        let sequences = appended.map(\.sequence)
        try expect(
            zip(sequences, sequences.dropFirst()).allSatisfy { $0 < $1 }, "sequences do not increase: \(sequences)")
        let evens = try await store.read { tx in
            try tx.events(EventQuery(eventTypes: ["even"], workflowID: "conf_events"))
        }
        try expect(evens.count == 3, "event type filter returned \(evens.count) events, expected 3")
        let after = try await store.read { tx in
            try tx.events(EventQuery(afterSequence: sequences[2], workflowID: "conf_events"))
        }
        try expect(after.map(\.sequence) == Array(sequences[3...]), "after_sequence returned \(after.map(\.sequence))")
        let newest = try await store.read { tx in
            try tx.events(EventQuery(workflowID: "conf_events", limit: 2, descending: true))
        }
        try expect(
            newest.map(\.sequence) == [sequences[4], sequences[3]],
            "descending limit returned \(newest.map(\.sequence))")
        try expect(after.first == appended[3], "a read event differs from the appended one")
    }

    static func listing(_ store: any Store) async throws {
        for (n, status) in [WorkflowStatus.running, .paused, .completed].enumerated() {
            var s = sample("conf_list_\(n)", now: 10_000 + Int64(n))
            s.workflow.status = status
            s.workflow.archived = status == .completed
            try await insert(s, into: store)
        }
        let running = try await store.read { tx in try tx.workflows(WorkflowQuery(statuses: [.running])) }
        try expect(running.workflows.contains { $0.id == "conf_list_0" }, "status filter lost a running workflow")
        try expect(running.workflows.allSatisfy { $0.status == .running }, "status filter let others through")
        let visible = try await store.read { tx in try tx.workflows(WorkflowQuery()) }
        try expect(!visible.workflows.contains { $0.id == "conf_list_2" }, "an archived workflow was listed")
        let all = try await store.read { tx in
            try tx.workflows(WorkflowQuery(includeArchived: true, limit: 1, offset: 0))
        }
        try expect(all.workflows.count == 1 && all.total >= 3, "paging returned \(all.workflows.count) of \(all.total)")
        // After a workflow: those listed after it (created earlier), whatever was created since.
        let middle = WorkflowCursor(createdAt: 10_001, id: "conf_list_1")
        let after = try await store.read { tx in
            try tx.workflows(WorkflowQuery(includeArchived: true, limit: 1000, after: middle))
        }
        let listed = after.workflows.map(\.id).filter { $0.hasPrefix("conf_list_") }
        try expect(listed == ["conf_list_0"], "a page after conf_list_1 listed \(listed)")
        try expect(after.total >= 3, "the total counts the whole listing, not the page")
    }

    static func concurrentWrites(_ store: any Store) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<20 {
                group.addTask {
                    if n % 5 == 4 {
                        // Every fifth write fails: it must not take the others down with it.
                        _ = try? await store.write { tx -> Void in
                            try tx.insert(sample("conf_conc_bad_\(n)").workflow)
                            throw HubError(.invalidParameters, "abort")
                        }
                    } else {
                        try await insert(sample("conf_conc_\(n)"), into: store)
                    }
                }
            }
            try await group.waitForAll()
        }
        let ids = try await store.read { tx in
            try tx.workflows(WorkflowQuery(includeArchived: true, limit: 1000)).workflows.map(\.id)
        }
        for n in 0..<20 {
            let good = ids.contains("conf_conc_\(n)")
            let bad = ids.contains("conf_conc_bad_\(n)")
            if n % 5 == 4 {
                try expect(!bad, "a failed concurrent write is visible (\(n))")
            } else {
                try expect(good, "a concurrent write is missing (\(n))")
            }
        }
    }

    static func removeContents(_ store: any Store) async throws {
        let s = sample("conf_remove")
        try await insert(s, into: store)
        try await store.write { tx in try tx.removeContents(of: "conf_remove") }
        let (w, phases, tasks) = try await store.read { tx in
            (try tx.workflow("conf_remove"), try tx.phases(of: "conf_remove"), try tx.tasks(of: "conf_remove"))
        }
        try expect(
            w != nil && phases.isEmpty && tasks.isEmpty,
            "removeContents left \(phases.count) phases, \(tasks.count) tasks")
    }
}

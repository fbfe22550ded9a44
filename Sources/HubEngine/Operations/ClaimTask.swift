import HubCore
import HubStore

/// `claim-task`: the hub chooses tasks for an agent and leases them to it (§7).
enum ClaimTask {
    struct Parameters: OperationParameters {
        var agentId: String
        var maxTasks: Int?
        var wait: String?
        var runnerId: String?
        static let schema = Schema.object([
            .init(
                "wait",
                .duration(
                    "Wait up to this long (at most 60s) for an eligible task when none is there now; the claim is woken at once by this process's operations that make tasks ready (through a server: every client's), looks again every 2s for changes made by other processes on the same state directory, and ends at once when the workflow it names completes or is cancelled."
                )),
            .init("agent_id", .id("The claiming agent."), required: true),
            .init(
                "max_tasks",
                .integer(
                    "Most tasks to take at once (also bounded by the agent's free capacity). Defaults to 1.", min: 1,
                    max: 100)),
            .init(
                "runner_id",
                RegisterAgent.runnerIDSchema.described(
                    "The runner process claiming, as it registered. Another runner than the one holding the agent is refused with VERSION_CONFLICT and gets nothing: the sender has lost the id and should stop."
                )),
        ])
    }

    static let descriptor = OperationDescriptor(
        "claim-task", scope: .hub, mutating: false, parameters: Parameters.self,
        summary: "Lease the best eligible tasks to an agent; the hub chooses, the agent does not pick.",
        discussion: """
            Eligible: the workflow is running (and the agent is in its pool, if it has one); the task is ready (its \
            dependencies done, its phase running); the agent has the task's role and free capacity; none of the task's \
            files is held by a running task; its resources are free; it is not reserved for another agent; a degraded \
            agent gets a role's task only when no healthy agent of that role has capacity (unless performance_monitoring \
            is off: then no agent is judged degraded). Among eligible tasks, highest \
            first: tasks reserved for the agent, workflow priority, task priority, critical path (longest chain of \
            estimates through the task's dependents), the agent's success rate on the task's role, then the oldest. \
            Each task comes with a lease_id and lease_expires_at (3 heartbeat intervals; heartbeats renew it). A task \
            whose evidence asks for a commit comes with head_before: the workspace's git HEAD read by the hub when the \
            task was first handed out ("" for a repository without commits; null when git could not tell), which is \
            not the task's work, so a retry knows a commit an earlier attempt made from one that was already there. With a \
            workflow id, only that workflow's tasks are considered. An empty list means nothing is eligible now.
            """,
        example: "coordination-hub claim-task '{\"agent_id\": \"agent_001\", \"max_tasks\": 2}'",
        workflowID: "Only this workflow's tasks are handed out.",
        withoutVersion:
            "claim-task hands out tasks across workflows and the hub chooses which; each goes to one agent under a lease, and the lease guards what follows",
        handler: run)

    /// Candidates read per role and page at most while looking for eligible tasks (the first
    /// page is smaller: four per wanted task, at least eight; each page doubles).
    static let pageSize = 1024
    /// Candidates read per role at most in one claim, so a claim's cost stays bounded. The
    /// store lists only tasks the agent's reservations and pools allow; what else can pass a
    /// candidate over (a file or resource a running task holds, a degraded agent's turn) is
    /// judged here, and a window of 888 let that many tasks waiting on one held file hide every
    /// eligible task behind them ("nothing is eligible").
    static let maximumExamined = 20_000

    /// The longest `wait`.
    static let maximumWait = HubDuration.seconds(60)
    /// How often a waiting claim looks again on its own: changes made by other processes
    /// and leases that expire send no signal to this one.
    static let recheckInterval = Duration.seconds(2)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let wait = try p.wait.map { text throws(HubError) -> HubDuration in
            guard let d = HubDuration(parsing: text), d <= maximumWait else {
                throw HubError.parameter("wait", "must be a duration of at most \(maximumWait), such as 20s")
            }
            return d
        }
        let deadline = ContinuousClock.now + .milliseconds(wait?.milliseconds ?? 0)
        while true {
            let seen = await context.hub.workSignal.current()
            let outcome = try await claimOnce(context, p)
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard outcome.result["count"] == 0, remaining > .zero, await !context.hub.workSignal.isClosed else {
                return outcome
            }
            // Narrowed to a workflow that is over, the claim can never get a task: it answers now
            // rather than at the end of its wait (an agent runner of that workflow exits then).
            if let id = context.workflowID, let ended = try await over(id, context) {
                var answer = outcome
                answer.nextSteps = ["Workflow \(id) is \(ended): it has no more tasks to hand out"]
                return answer
            }
            await context.hub.workSignal.wait(after: seen, timeout: min(remaining, recheckInterval))
            if Task.isCancelled { return outcome }
        }
    }

    /// How the workflow ended, when it has (`completed`, `cancelled`, or `removed`); `nil`
    /// while it may still hand out work (a failed one can be resumed).
    static func over(_ id: String, _ context: OperationContext) async throws -> String? {
        let status = try await context.hub.store.read { tx in try tx.workflow(id)?.status }
        guard let status else { return "removed" }
        return status.isTerminal ? status.rawValue : nil
    }

    static func claimOnce(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let workflowID = context.workflowID
        let resourceCapacity = context.hub.configuration.resources
        let stateDirectory = context.hub.stateDirectory
        // A claim whose caller went away (an MCP request cancelled before it ran, a client that
        // disconnected) takes nothing: nobody would read which tasks it took, and they stayed
        // with the agent until their leases lapsed.
        let callerLeft = Task.isCancelled
        let (agent, leased, overdue) = try await context.hub.dispatch {
            scope -> (Agent, [ClaimedTask], Set<String>) in
            var agent = try scope.agent(p.agentId)
            if case .heldByAnother(let holder) = agent.claim(by: p.runnerId) {
                throw agent.heldByAnotherRunner(
                    holder: holder, now: scope.now, heartbeatInterval: scope.configuration.heartbeatInterval,
                    registering: false)
            }
            guard !callerLeft, agent.status == .available || agent.status == .busy else { return (agent, [], []) }
            let running = agent.budget?.wallTime == nil ? [] : try scope.tx.activeLeases(agentID: agent.agentID)
            let exhausted = agent.exhaustedBudget(running: running, now: scope.now)
            if !exhausted.isEmpty {
                throw HubError(
                    .budgetExhausted,
                    "Agent \(agent.agentID) has spent its budget (\(exhausted.joined(separator: ", ")))",
                    details: "It gets no more tasks; raise its budget by registering it again with a larger one.",
                    context: ["agent_id": .string(agent.agentID), "exceeded": .strings(exhausted)],
                    suggestions: ["Register the agent again with a larger budget", "Let another agent take the work"])
            }
            let wanted = min(p.maxTasks ?? 1, agent.freeCapacity)
            guard wanted > 0 else { return (agent, [], []) }
            var overdue: Set<String> = []
            let chosen = try choose(
                for: agent, wanted: wanted, workflowID: workflowID, scope: scope, capacity: resourceCapacity,
                overdue: &overdue)
            var claimed: [ClaimedTask] = []
            for candidate in chosen {
                guard var task = try scope.tx.task(workflowID: candidate.workflowID, taskID: candidate.taskID) else {
                    continue
                }
                if task.risky {
                    // The capture of its files needs the workflow's restore turn (RestoreTurn), only
                    // tried in this transaction, never waited for: while a restore puts files in
                    // place the task waits for a later claim, rather than start with a checkpoint
                    // of a mix of two checkpoints' files.
                    var turn: LockAttempt?
                    if !task.files.isEmpty {
                        let attempt = RestoreTurn.takeIfFree(
                            workflowID: task.workflowID, stateDirectory: stateDirectory)
                        // Without the lock file (failed) the capture runs, as it did before there was one.
                        if case .busy = attempt { continue }
                        turn = attempt
                    }
                    // §11: the state (and the files the task declares) as they are before it starts.
                    let risky = task
                    try scope.workflow(task.workflowID) { m in
                        let files = RiskyCapture.files(
                            of: risky, workspace: m.workflow.workspace, stateDirectory: stateDirectory)
                        try m.checkpointNow(.beforeRiskyOperation, name: "before_\(risky.taskID)", files: files)
                    }
                    withExtendedLifetime(turn) {}
                }
                // A retried task's assignment is caused by its task_retried (§16's chain).
                let queuedBy = task.queuedBy
                task.queuedBy = nil
                task.status = .running
                task.assignedAgent = agent.agentID
                task.attempts += 1
                task.startedAt = scope.now
                task.reservedFor = nil
                task.runDeadline = task.timeout.map { scope.now + $0.milliseconds }
                try scope.tx.update(task)
                let lease = Lease(
                    leaseID: scope.ids.make("lease"), workflowID: task.workflowID, taskID: task.taskID,
                    agentID: agent.agentID,
                    claimedAt: scope.now, expiresAt: scope.now + scope.leaseDuration)
                try scope.tx.insert(lease)
                let workspace = try scope.workflow(task.workflowID) { m in
                    // Each task handed out starts its own chain: one assignment does not cause the next.
                    m.beginChain()
                    try m.emit(
                        "task_assigned",
                        data: [
                            "task_id": .string(task.taskID), "agent_id": .string(agent.agentID),
                            "lease_id": .string(lease.leaseID),
                            "attempt": .count(task.attempts),
                        ], phase: task.phaseID, causedBy: queuedBy)
                    return m.workflow.workspace
                }
                claimed.append(ClaimedTask(task: task, lease: lease, workspace: workspace))
            }
            agent.currentLoad += claimed.count
            agent.status = agent.currentLoad >= agent.maxConcurrentTasks ? .busy : .available
            // A claim is a sign of life (§7: agents *silent* for 3 intervals fail): an agent whose
            // last heartbeat was long ago lost the lease it had just been given, before the
            // lease's own lease_expires_at, at the next sweep.
            if !claimed.isEmpty { agent.heard(at: scope.now, heartbeatInterval: scope.configuration.heartbeatInterval) }
            try scope.tx.save(agent)
            return (agent, claimed, overdue)
        }
        let claimed = await recordHeads(leased, context)
        // Workflows found past their timeout or wall-time budget fail or pause now, as a call
        // naming them would have made them (a claim across workflows names none).
        for id in overdue.sorted() { _ = try await context.hub.enforceDeadline(id) }
        var steps: [String] = []
        if claimed.isEmpty {
            if agent.status == .unresponsive || agent.status == .offline {
                steps.append(
                    "Agent \(agent.agentID) is \(agent.status.rawValue): send a heartbeat to be offered work again")
            } else if agent.freeCapacity == 0 {
                steps.append(
                    "Agent \(agent.agentID) holds \(agent.currentLoad) of \(agent.maxConcurrentTasks) tasks: finish one first"
                )
            } else if let id = workflowID,
                let workflow = try await context.hub.store.read({ tx in try tx.workflow(id) }),
                workflow.status != .running
            {
                // Not "claim again later" either: its tasks wait for it to run again, and one paused
                // on a spent budget needs a larger budget first.
                steps.append(
                    NextSteps.budgetSpent(workflow)
                        ?? CompleteTask.nextStep(workflowID: id, status: workflow.status))
            } else if let id = workflowID,
                let pool = try await context.hub.store.read({ tx in try tx.pools(of: [id])[id] }),
                !pool.isEmpty, !pool.contains(agent.agentID)
            {
                // Not "claim again later": it never gets this workflow's work while outside its pool.
                steps.append(
                    "Agent \(agent.agentID) is not in workflow \(id)'s pool (\(pool.sorted().joined(separator: ", "))): only its members claim its tasks; assign-agents binds agents to it"
                )
            } else {
                steps.append("Nothing is eligible now; claim again later")
            }
        } else {
            steps.append("Report each outcome with complete-task or fail-task and its lease_id")
            steps.append("Heartbeat before the leases expire to keep them")
        }
        return OperationOutcome(
            result: [
                "agent_id": .string(agent.agentID), "tasks": .array(claimed.map(\.json)),
                "count": .count(claimed.count),
            ],
            nextSteps: steps)
    }

    /// Runs the selection policy over pages of indexed candidates until it has enough or the pages run out.
    /// Candidates of workflows that are no longer running in this transaction (the sweep failed
    /// them) or have run past their timeout or wall-time budget are passed over; the latter are
    /// added to `overdue`.
    static func choose(
        for agent: Agent, wanted: Int, workflowID: String?, scope: DispatchScope, capacity: [String: Int],
        overdue: inout Set<String>
    ) throws -> [TaskCandidate] {
        // Running tasks and granted allocations hold resources; files are resources named file:<path>.
        let (ledger, queued) = try scope.resourceState()
        let held = Set(ledger.exclusive.keys).union(ledger.shared.keys)
        var free = ledger.freeExclusive(held.filter { !$0.hasPrefix("file:") })
        var heldFiles = Set(
            held.filter { $0.hasPrefix("file:") && ledger.freeExclusive([$0])[$0] ?? 0 <= 0 }.map {
                String($0.dropFirst(5))
            })
        // A request still queued (the sweep granted what fits) holds back later ones for the
        // same resources (§8), and a claim is later: a task must not take them from under it.
        for request in queued {
            for name in request.resources.keys {
                if name.hasPrefix("file:") { heldFiles.insert(String(name.dropFirst(5))) } else { free[name] = 0 }
            }
        }
        // Only a degraded agent's claim depends on the rest of the pool (§7), so only it reads the pool.
        // With performance monitoring off no agent is judged degraded, and with no healthy agent
        // listed the policy holds none back (§14).
        var healthy: [Agent] = []
        if scope.configuration.performanceMonitoring && agent.record.isDegraded {
            healthy = try scope.tx.agents().filter { other in
                other.agentID != agent.agentID && (other.status == .available || other.status == .busy)
                    && other.freeCapacity > 0 && !other.record.isDegraded && other.exhaustedBudget.isEmpty
            }
        }
        var context = SelectionContext(
            heldFiles: heldFiles, freeResources: free, defaultCapacity: capacity, healthyAgents: healthy)
        // Each role once (an agent stored with one named twice read its tasks twice, chose a
        // task twice and failed on the second lease).
        var seenRoles: Set<String> = []
        let roles: [String?] =
            agent.specializations.filter { seenRoles.insert($0).inserted }.map { Optional($0) } + [nil]
        var candidates: [TaskCandidate] = []
        var listed: Set<String> = []
        // Whether each candidate's workflow may hand out work, looked up once per claim.
        var usable: [String: Bool] = [:]
        func add(_ rows: [TaskCandidate]) throws {
            for row in try available(rows, scope: scope, usable: &usable, overdue: &overdue)
            where listed.insert(row.workflowID + "\u{0}" + row.taskID).inserted {
                candidates.append(row)
            }
        }
        // Tasks reserved for the agent come first in the policy, not in the pages' order: read
        // on their own, one on a later page was passed over for the first page's tasks.
        try add(scope.tx.reservedCandidates(agentID: agent.agentID, workflowID: workflowID))
        var open = Set(roles.indices)
        var read = Array(repeating: 0, count: roles.count)
        // Each role's last row read: its unread rows come after it in the policy's order.
        var last: [TaskCandidate?] = Array(repeating: nil, count: roles.count)
        // The first page is small (most claims take the first eligible tasks); later ones grow.
        var limit = min(pageSize, max(8, wanted * 4))
        while true {
            for index in open.sorted() {
                let rows = try scope.tx.readyCandidates(
                    role: roles[index], workflowID: workflowID, agentID: agent.agentID, offset: read[index],
                    limit: limit)
                try add(rows)
                last[index] = rows.last ?? last[index]
                read[index] += rows.count
                if rows.count < limit || read[index] >= maximumExamined { open.remove(index) }
            }
            limit = min(pageSize, limit * 2)
            context.pools = try scope.tx.pools(of: candidates.map(\.workflowID))
            let chosen = TaskSelection.choose(from: candidates, for: agent, context: context, limit: wanted)
            // Enough chosen: only a role whose last row read still ranks before the worst chosen
            // task may hold a better one further on (one role's page of tasks held back by a file
            // had a claim take another role's lower task).
            if chosen.count >= wanted, let worst = chosen.last {
                open = open.filter { index in
                    last[index].map { TaskSelection.precedes($0, worst, agent: agent) } ?? true
                }
            }
            if open.isEmpty { return chosen }
        }
    }
}

extension ClaimTask {
    /// The rows whose workflow may hand out work now. The index lists tasks of workflows the
    /// store holds as running; the workflow as this transaction sees it decides (§5, §7, §16).
    static func available(
        _ rows: [TaskCandidate], scope: DispatchScope, usable open: inout [String: Bool], overdue: inout Set<String>
    ) throws -> [TaskCandidate] {
        try rows.filter { row in
            if let known = open[row.workflowID] { return known }
            let workflow = try scope.mutations[row.workflowID]?.workflow ?? scope.tx.workflow(row.workflowID)
            var usable = workflow?.status == .running
            if usable, let w = workflow {
                let spent = w.budget?.exhausted(by: w.spend, time: w.activeTime(now: scope.now)) ?? []
                if w.hasTimedOut(now: scope.now) || !spent.isEmpty {
                    overdue.insert(w.id)
                    usable = false
                }
            }
            open[row.workflowID] = usable
            return usable
        }
    }
}

/// A task handed to an agent, as `claim-task` returns it.
struct ClaimedTask: Sendable {
    var task: WorkTask
    var lease: Lease
    var workspace: String

    var json: JSONValue {
        [
            "workflow_id": .string(task.workflowID), "task_id": .string(task.taskID),
            "lease_id": .string(lease.leaseID),
            "lease_expires_at": .string(Timestamp.format(milliseconds: lease.expiresAt)),
            "phase": .count(task.phaseID), "description": .string(task.description), "role": .optional(task.role),
            "command": .optional(task.command), "payload": task.payload ?? .null, "files": .strings(task.files),
            "attempt": .count(task.attempts), "workspace": .string(workspace),
            "timeout": .optional(task.timeout?.description), "estimate": .optional(task.estimate?.description),
            // What complete-task will ask for (§16), so an agent learns it before, not from a refusal.
            "evidence": task.evidence ?? .null,
            // For a task asking for a commit: the HEAD before its first run, which is not its work.
            "head_before": .optional(task.headBefore),
        ]
    }
}

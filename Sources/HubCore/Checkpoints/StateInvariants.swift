/// The invariants `verify-state` checks (§11): statuses of tasks against their phases and
/// the workflow, leases held by live agents on running tasks, and counters that agree with
/// the records. Pure: the engine reads the facts, this judges them, the engine repairs.
public enum StateInvariants {
    /// What the store's counters say about one phase.
    public struct Counters: Sendable, Equatable {
        public var total: Int
        public var open: Int
        public var failed: Int
        public init(total: Int, open: Int, failed: Int) {
            self.total = total
            self.open = open
            self.failed = failed
        }
    }

    /// The facts one check looks at.
    public struct Facts: Sendable {
        public var snapshot: WorkflowSnapshot
        /// The workflow's active leases.
        public var leases: [Lease]
        /// Agents holding those leases, by id (missing: the agent is gone).
        public var agents: [String: Agent]
        /// Each such agent's active leases across all workflows.
        public var agentLeaseCounts: [String: Int]
        /// The store's counters per phase.
        public var counters: [Int: Counters]
        /// The time of the check: a lease past its expiry then has lapsed (`nil`: not judged).
        public var now: Int64?

        public init(
            snapshot: WorkflowSnapshot, leases: [Lease], agents: [String: Agent], agentLeaseCounts: [String: Int],
            counters: [Int: Counters], now: Int64? = nil
        ) {
            self.now = now
            self.snapshot = snapshot
            self.leases = leases
            self.agents = agents
            self.agentLeaseCounts = agentLeaseCounts
            self.counters = counters
        }
    }

    /// How a violation is repaired, when it can be.
    public enum Repair: Sendable, Equatable {
        /// Set a task's status (its assignment is cleared when it leaves `running`).
        case setTaskStatus(taskID: String, status: TaskStatus)
        /// End a lease; its task goes back to the queue when it was running.
        case revokeLease(leaseID: String)
        /// Recount a phase's counters from its tasks.
        case recountPhases
        /// Set an agent's load to its number of active leases.
        case setAgentLoad(agentID: String, load: Int)
    }

    public struct Violation: Sendable, Equatable {
        /// A stable name for the invariant (`task_running_without_lease`, …).
        public var invariant: String
        public var message: String
        /// `nil` when the hub cannot repair it by itself.
        public var repair: Repair?

        public var json: JSONValue {
            ["invariant": .string(invariant), "message": .string(message), "repairable": .bool(repair != nil)]
        }
    }

    /// Every violation, in a stable order.
    public static func check(_ facts: Facts) -> [Violation] {
        var out: [Violation] = []
        let s = facts.snapshot
        let w = s.workflow
        let byID = Dictionary(s.tasks.map { ($0.taskID, $0) }, uniquingKeysWith: { a, _ in a })
        let phaseStatus = Dictionary(s.phases.map { ($0.phaseID, $0.status) }, uniquingKeysWith: { a, _ in a })
        let leaseByTask = Dictionary(facts.leases.map { ($0.taskID, $0) }, uniquingKeysWith: { a, _ in a })
        func done(_ id: String) -> Bool { byID[id].map { $0.status == .completed || $0.status == .skipped } ?? false }

        // Workflow against phases.
        if w.currentPhase < 0 || w.currentPhase > w.totalPhases {
            out.append(
                Violation(
                    invariant: "current_phase_out_of_range",
                    message: "current_phase \(w.currentPhase) is outside 0...\(w.totalPhases)", repair: nil))
        }
        if w.status == .completed,
            let open = s.phases.first(where: { $0.status != .completed && $0.status != .skipped })
        {
            out.append(
                Violation(
                    invariant: "completed_workflow_with_open_phase",
                    message: "the workflow is completed but phase \(open.phaseID) is \(open.status.rawValue)",
                    repair: nil))
        }
        // Phases run one after another: none after the first open one has begun.
        let ordered = s.phases.sorted { $0.phaseID < $1.phaseID }
        if let firstOpen = ordered.first(where: { $0.status == .running || $0.status == .pending }) {
            for later in ordered where later.phaseID > firstOpen.phaseID && later.status != .pending {
                out.append(
                    Violation(
                        invariant: "phase_started_before_an_earlier_one_ended",
                        message:
                            "phase \(later.phaseID) is \(later.status.rawValue) while phase \(firstOpen.phaseID) before it is \(firstOpen.status.rawValue)",
                        repair: nil))
            }
        }
        if w.status == .created, let started = ordered.first(where: { $0.status != .pending }) {
            out.append(
                Violation(
                    invariant: "created_workflow_with_started_phase",
                    message: "the workflow has not started but phase \(started.phaseID) is \(started.status.rawValue)",
                    repair: nil))
        }
        if w.status == .running, !ordered.isEmpty,
            ordered.allSatisfy({ $0.status == .completed || $0.status == .skipped })
        {
            // The last phase's closing completes the workflow in the same transaction.
            out.append(
                Violation(
                    invariant: "running_workflow_with_every_phase_closed",
                    message:
                        "the workflow is running but every phase is completed or skipped; nothing will complete it (complete does)",
                    repair: nil))
        }
        if w.status == .running {
            // Its last task's outcome closes a phase in the same transaction: one left running
            // with every task settled waits for nothing (complete-phase closes it).
            for phase in ordered where phase.status == .running {
                let tasks = s.tasks.filter { $0.phaseID == phase.phaseID }
                if !tasks.isEmpty && tasks.allSatisfy(\.status.isSettled) {
                    out.append(
                        Violation(
                            invariant: "running_phase_with_every_task_settled",
                            message:
                                "phase \(phase.phaseID) is running but all its tasks are settled; nothing will close it (complete-phase does)",
                            repair: nil))
                }
            }
        }
        // Tasks against their phases and dependencies.
        for t in s.tasks {
            let phase = phaseStatus[t.phaseID]
            if phase == nil {
                out.append(
                    Violation(
                        invariant: "task_in_unknown_phase",
                        message: "task \(t.taskID) belongs to phase \(t.phaseID), which does not exist", repair: nil))
                continue
            }
            if t.status == .running || t.status == .assigned {
                if leaseByTask[t.taskID] == nil {
                    let next: TaskStatus = t.dependsOn.allSatisfy(done) && phase == .running ? .ready : .pending
                    out.append(
                        Violation(
                            invariant: "task_running_without_lease",
                            message: "task \(t.taskID) is \(t.status.rawValue) but no agent holds a lease on it",
                            repair: .setTaskStatus(taskID: t.taskID, status: next)))
                }
            } else if t.status == .ready {
                if !t.dependsOn.allSatisfy(done) {
                    out.append(
                        Violation(
                            invariant: "ready_task_with_open_dependencies",
                            message: "task \(t.taskID) is ready but depends on unfinished tasks",
                            repair: .setTaskStatus(taskID: t.taskID, status: .pending)))
                } else if phase != .running && !(phase == .failed && w.status == .failed) {
                    // (A failed workflow's failed phase keeps its ready tasks for a resume.)
                    out.append(
                        Violation(
                            invariant: "ready_task_outside_running_phase",
                            message:
                                "task \(t.taskID) is ready but its phase \(t.phaseID) is \(phase?.rawValue ?? "?")",
                            repair: .setTaskStatus(taskID: t.taskID, status: .pending)))
                }
            } else if t.status == .pending, phase == .running, w.status == .running || w.status == .paused,
                t.dependsOn.allSatisfy(done), t.reservedFor == nil
            {
                out.append(
                    Violation(
                        invariant: "pending_task_with_dependencies_done",
                        message: "task \(t.taskID) is pending although its dependencies are done and its phase runs",
                        repair: .setTaskStatus(taskID: t.taskID, status: .ready)))
            }
            if phase == .completed && !t.status.isSettled {
                out.append(
                    Violation(
                        invariant: "open_task_in_completed_phase",
                        message: "phase \(t.phaseID) is completed but task \(t.taskID) is \(t.status.rawValue)",
                        repair: .setTaskStatus(taskID: t.taskID, status: .skipped)))
            }
        }
        // Leases: on running tasks, held by live agents.
        for lease in facts.leases {
            let task = byID[lease.taskID]
            if let now = facts.now, lease.expiresAt <= now {
                // Lapsed, not yet ended by a dispatcher operation's sweep (reads do not sweep).
                out.append(
                    Violation(
                        invariant: "lease_past_its_expiry",
                        message:
                            "lease \(lease.leaseID) on task \(lease.taskID) expired at \(Timestamp.format(milliseconds: lease.expiresAt)) and still holds it",
                        repair: .revokeLease(leaseID: lease.leaseID)))
            } else if task?.status != .running {
                out.append(
                    Violation(
                        invariant: "lease_on_task_not_running",
                        message:
                            "lease \(lease.leaseID) is active but task \(lease.taskID) is \(task?.status.rawValue ?? "missing")",
                        repair: .revokeLease(leaseID: lease.leaseID)))
            } else if let agent = facts.agents[lease.agentID] {
                // Only an unresponsive agent's leases are dead (the sweep ends them as it judges
                // it). An offline one keeps its leases while it heartbeats: redistribute-tasks
                // sets the agent it names offline with its work in other workflows kept, and a
                // stopping runner goes offline finishing what it runs; a lapse is judged above.
                if agent.status == .unresponsive {
                    out.append(
                        Violation(
                            invariant: "lease_held_by_dead_agent",
                            message:
                                "lease \(lease.leaseID) on task \(lease.taskID) is held by \(agent.status.rawValue) agent \(lease.agentID)",
                            repair: .revokeLease(leaseID: lease.leaseID)))
                }
            } else {
                out.append(
                    Violation(
                        invariant: "lease_held_by_unknown_agent",
                        message:
                            "lease \(lease.leaseID) on task \(lease.taskID) is held by agent \(lease.agentID), which is not registered",
                        repair: .revokeLease(leaseID: lease.leaseID)))
            }
        }
        // Counters against records.
        for phase in s.phases {
            let tasks = s.tasks.filter { $0.phaseID == phase.phaseID }
            let actual = Counters(
                total: tasks.count, open: tasks.filter { !$0.status.isSettled }.count,
                failed: tasks.filter { $0.status == .failed || $0.status == .cancelled }.count)
            if let stored = facts.counters[phase.phaseID], stored != actual {
                out.append(
                    Violation(
                        invariant: "phase_counters_disagree",
                        message:
                            "phase \(phase.phaseID)'s counters say \(stored.total) tasks, \(stored.open) open, \(stored.failed) failed; its records say \(actual.total), \(actual.open), \(actual.failed)",
                        repair: .recountPhases))
            }
        }
        for (agentID, agent) in facts.agents.sorted(by: { $0.key < $1.key }) {
            let held = facts.agentLeaseCounts[agentID] ?? 0
            if agent.currentLoad != held {
                out.append(
                    Violation(
                        invariant: "agent_load_disagrees",
                        message: "agent \(agentID) has current_load \(agent.currentLoad) but holds \(held) leases",
                        repair: .setAgentLoad(agentID: agentID, load: held)))
            }
        }
        return out
    }
}

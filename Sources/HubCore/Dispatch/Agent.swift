/// An agent's availability (§4).
public enum AgentStatus: String, Sendable, CaseIterable, Codable {
    case available, busy, unresponsive, offline
}

/// A worker that takes tasks: an AI coding agent, a CI worker, a script (§4, §7).
public struct Agent: Sendable, Equatable {
    public var agentID: String
    /// Roles it can take (`code`, `test`, …).
    public var specializations: [String]
    /// Defaults to 1.
    public var maxConcurrentTasks: Int
    public var preferredTaskTypes: [String]
    public var status: AgentStatus
    public var registeredAt: Int64
    public var lastHeartbeat: Int64
    /// Tasks it holds leases on now.
    public var currentLoad: Int
    public var record: TrackRecord
    /// What the agent may spend; `nil` for no limit.
    public var budget: Budget?
    /// What it has spent, from reported usage.
    public var spend: Spend
    /// The runner process that holds the agent id (`run_…`, from `register-agent` or
    /// `heartbeat`'s `runner_id`); `nil` when none does. See ``registration(by:now:heartbeatInterval:)``.
    public var runnerID: String?
    /// When the agent falls silent (§7: 3 heartbeat intervals after it was last heard from),
    /// by the interval it was told then: the `heartbeat_interval` of the process that answered
    /// its registration, heartbeat or claim (see ``heard(at:heartbeatInterval:)``). `nil` for an
    /// agent recorded before the hub kept it, which is judged by the judging process's interval.
    public var silentAt: Int64?

    public init(
        agentID: String, specializations: [String] = [], maxConcurrentTasks: Int = 1, preferredTaskTypes: [String] = [],
        registeredAt: Int64
    ) {
        self.agentID = agentID
        self.specializations = specializations
        self.maxConcurrentTasks = maxConcurrentTasks
        self.preferredTaskTypes = preferredTaskTypes
        self.status = .available
        self.registeredAt = registeredAt
        self.lastHeartbeat = registeredAt
        self.currentLoad = 0
        self.record = TrackRecord()
        self.budget = nil
        self.spend = Spend()
        self.runnerID = nil
        self.silentAt = nil
    }

    /// Records a sign of life at `now`, answered by a process whose agents heartbeat every
    /// `heartbeatInterval`: the agent is silent 3 of those intervals later, whatever interval
    /// the process that judges it later has (a one-call `--set`, a server configured otherwise).
    public mutating func heard(at now: Int64, heartbeatInterval: HubDuration) {
        lastHeartbeat = now
        silentAt = now + heartbeatInterval.milliseconds * 3
    }

    /// The budget dimensions the agent has exhausted (its wall time is its time on tasks),
    /// counting the tasks it finished only.
    public var exhaustedBudget: [String] { exhaustedBudget(running: [], now: 0) }

    /// Whether it can be given work (a reservation, a place in a pool): it is live and has
    /// budget left by the tasks it finished (§16: a spent agent gets no more tasks).
    public var takesWork: Bool { (status == .available || status == .busy) && exhaustedBudget.isEmpty }

    /// Its time on tasks: the attempts it finished, and the `running` ones (its active leases) until `now`.
    public func wallTime(running: [Lease], now: Int64) -> HubDuration {
        HubDuration(milliseconds: running.reduce(record.totalMilliseconds) { $0 + max(0, now - $1.claimedAt) })
    }

    /// The budget dimensions the agent has exhausted, its wall time counting the `running`
    /// tasks (its active leases) until `now`: a budget of 3s was not spent while two tasks
    /// ran for a minute, and the agent went on claiming.
    public func exhaustedBudget(running: [Lease], now: Int64) -> [String] {
        budget?.exhausted(by: spend, time: wallTime(running: running, now: now)) ?? []
    }

    /// Whether it can take a task needing `role` (a task without a role fits any agent).
    public func canTake(role: String?) -> Bool {
        guard let role else { return true }
        return specializations.contains(role)
    }

    /// How many more tasks it may hold.
    public var freeCapacity: Int { max(0, maxConcurrentTasks - currentLoad) }

    /// When it falls silent: ``silentAt``, or for an agent recorded without it, 3 of
    /// `heartbeatInterval` (the judging process's) after its last heartbeat.
    public func silentAt(defaultInterval heartbeatInterval: HubDuration) -> Int64 {
        silentAt ?? lastHeartbeat + heartbeatInterval.milliseconds * 3
    }

    /// Whether it has been silent for 3 heartbeat intervals at `now` (``silentAt(defaultInterval:)``).
    public func isSilent(now: Int64, heartbeatInterval: HubDuration) -> Bool {
        now >= silentAt(defaultInterval: heartbeatInterval)
    }
}

/// An agent's track record (§4): what it finished, how fast, and how well lately.
public struct TrackRecord: Sendable, Equatable {
    /// One finished task, as the recent window keeps it.
    public struct Outcome: Sendable, Equatable {
        public var succeeded: Bool
        public var milliseconds: Int64
        public var estimateMilliseconds: Int64?
        public var taskType: String?

        public init(succeeded: Bool, milliseconds: Int64, estimateMilliseconds: Int64?, taskType: String?) {
            self.succeeded = succeeded
            self.milliseconds = milliseconds
            self.estimateMilliseconds = estimateMilliseconds
            self.taskType = taskType
        }

        /// 0 for a failure, else 100 scaled down by how far the run overran its estimate.
        public var score: Int {
            guard succeeded else { return 0 }
            guard let estimate = estimateMilliseconds, estimate > 0, milliseconds > estimate else { return 100 }
            return Int((100 * Double(estimate) / Double(milliseconds)).rounded())
        }
    }

    /// How many outcomes the recent window keeps.
    public static let window = 5

    public var tasksCompleted = 0
    public var tasksFailed = 0
    public var totalMilliseconds: Int64 = 0
    /// Milliseconds of the completed tasks alone; `nil` for a record kept before it was counted
    /// (it then cannot be known).
    public var completedMilliseconds: Int64? = 0
    /// The last ``window`` outcomes, oldest first.
    public var recent: [Outcome] = []
    /// Completed and failed counts per task type (the task's role).
    public var byType: [String: Counts] = [:]

    /// Completed and failed tasks of one type.
    public struct Counts: Sendable, Equatable {
        public var completed = 0
        public var failed = 0
        public init(completed: Int = 0, failed: Int = 0) {
            self.completed = completed
            self.failed = failed
        }
        public var successRate: Double? {
            let total = completed + failed
            return total == 0 ? nil : Double(completed) / Double(total) * 100
        }
    }

    public init() {}

    /// Adds a finished task.
    public mutating func add(_ outcome: Outcome) {
        if outcome.succeeded { tasksCompleted += 1 } else { tasksFailed += 1 }
        totalMilliseconds += outcome.milliseconds
        if outcome.succeeded { completedMilliseconds = completedMilliseconds.map { $0 + outcome.milliseconds } }
        recent.append(outcome)
        if recent.count > Self.window { recent.removeFirst(recent.count - Self.window) }
        if let type = outcome.taskType {
            var counts = byType[type] ?? Counts()
            if outcome.succeeded { counts.completed += 1 } else { counts.failed += 1 }
            byType[type] = counts
        }
    }

    /// Percent of finished tasks that completed, one decimal; `nil` before the first.
    public var successRate: Double? { Self.successRate(completed: tasksCompleted, failed: tasksFailed) }

    /// Percent of `completed + failed` attempts that completed, one decimal (§4); `nil` for none.
    public static func successRate(completed: Int, failed: Int) -> Double? {
        let finished = completed + failed
        guard finished > 0 else { return nil }
        return (Double(completed) / Double(finished) * 1000).rounded() / 10
    }

    /// Mean time of finished tasks; `nil` before the first.
    public var averageTaskTime: HubDuration? {
        let finished = tasksCompleted + tasksFailed
        guard finished > 0 else { return nil }
        return HubDuration(milliseconds: totalMilliseconds / Int64(finished))
    }

    /// Scores 0–100 of the recent window, oldest first.
    public var recentPerformance: [Int] { recent.map(\.score) }

    /// Mean of ``recentPerformance``, one decimal; `nil` without history.
    public var performanceScore: Double? {
        guard !recent.isEmpty else { return nil }
        return (Double(recentPerformance.reduce(0, +)) / Double(recent.count) * 10).rounded() / 10
    }

    /// Degraded (§7), judged once at least ``window`` tasks are finished: the last
    /// ``window`` succeeded less than 60% of the time, or took more than twice their estimates.
    public var isDegraded: Bool { degradation != nil }

    /// Why the record is degraded: `success_rate` (the last ``window`` succeeded less than 60 %
    /// of the time) or `slow` (they took more than twice their estimates); `nil` when it is not.
    public var degradation: String? {
        guard tasksCompleted + tasksFailed >= Self.window, recent.count >= Self.window else { return nil }
        let successes = recent.filter(\.succeeded).count
        if Double(successes) / Double(recent.count) < 0.6 { return "success_rate" }
        let estimated = recent.compactMap { o in o.estimateMilliseconds.map { (o.milliseconds, $0) } }
        guard !estimated.isEmpty else { return nil }
        let actual = estimated.reduce(Int64(0)) { $0 + $1.0 }
        let planned = estimated.reduce(Int64(0)) { $0 + $1.1 }
        return planned > 0 && actual > 2 * planned ? "slow" : nil
    }
}

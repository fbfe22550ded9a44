import HubCore

extension Mutation {
    /// Adds usage to the workflow's spend; when its budget is now exhausted, a running
    /// workflow is paused (no more of its tasks are handed out) and `budget_exhausted` published.
    /// `agentID`: who reported it, named in `usage_reported`. `pausing: false` leaves the
    /// pause to the caller, after the outcome the usage came with has settled: the last
    /// task's completion completes its workflow, whatever it spent, as nothing is left to
    /// hand out (a pause first held it paused at 100 %).
    mutating func charge(_ usage: Spend, by agentID: String, pausing: Bool = true) throws {
        guard usage.tokens > 0 || usage.cost > 0 else { return }
        workflow.spend.add(usage)
        try emit(
            "usage_reported",
            data: ["agent_id": .string(agentID), "usage": usage.json, "spend": workflow.spend.json])
        if pausing { try pauseIfBudgetExhausted() }
    }

    /// Pauses a running workflow whose budget is exhausted, publishing `budget_exhausted` and,
    /// caused by it, the `paused` that `pause` publishes (§10): a subscriber to
    /// `workflow.*.paused` learns of every pause, whatever caused it.
    mutating func pauseIfBudgetExhausted() throws {
        guard workflow.status == .running, let budget = workflow.budget else { return }
        let exceeded = budget.exhausted(by: workflow.spend, time: workflow.activeTime(now: now))
        guard !exceeded.isEmpty else { return }
        workflow.enter(.paused, now: now)
        let exhausted = try emit(
            "budget_exhausted", severity: .warning,
            data: [
                "exceeded": .strings(exceeded), "budget": budget.json, "spend": BudgetView.spend(workflow, now: now),
            ])
        try emit(
            "paused", data: ["reason": .string("budget exhausted (\(exceeded.joined(separator: ", ")))")],
            causedBy: exhausted.eventID)
    }
}

/// Budget against spend, as `get-status` shows it (§16).
enum BudgetView {
    static func spend(_ w: Workflow, now: Int64) -> JSONValue {
        [
            "tokens": .int(w.spend.tokens), "cost": .double(Spend.shown(w.spend.cost)),
            "wall_time": .string(w.activeTime(now: now).description),
        ]
    }

    static func status(_ w: Workflow, now: Int64) -> (budget: JSONValue, spend: JSONValue) {
        var spend = spend(w, now: now)
        if let budget = w.budget {
            spend["exhausted"] = .strings(budget.exhausted(by: w.spend, time: w.activeTime(now: now)))
            var remaining: JSONValue = .emptyObject
            if let t = budget.tokens { remaining["tokens"] = .int(max(0, t - w.spend.tokens)) }
            if let c = budget.cost { remaining["cost"] = .double(Spend.shown(max(0, c - w.spend.cost))) }
            if let wt = budget.wallTime {
                remaining["wall_time"] = .string(
                    HubDuration(milliseconds: wt.milliseconds - w.activeTime(now: now).milliseconds).description)
            }
            spend["remaining"] = remaining
        }
        return (w.budget?.json ?? .null, spend)
    }
}

/// `usage` as operations accept it.
struct UsageReport: Decodable, Sendable {
    var tokens: Int64?
    var cost: Double?
    var spend: Spend { Spend(tokens: tokens ?? 0, cost: cost ?? 0) }
}

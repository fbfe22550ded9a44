import Foundation
import HubCore
import HubEngine

/// How long a runner keeps trying to reach a hub that does not answer at start (a server
/// restarting): a pause that doubles from ``first`` up to ``cap``, until ``total`` has been
/// waited in all.
enum StartupRetry {
    static let first = Duration.milliseconds(250)
    static let cap = Duration.seconds(5)
    static let total = Duration.seconds(30)

    /// `duration` as the hub prints durations (`250ms`, `5s`).
    static func shown(_ duration: Duration) -> HubDuration {
        let (seconds, attoseconds) = duration.components
        return HubDuration(milliseconds: seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }

    /// The pause before the next try after `failures` failed ones (1 or more) and `waited`
    /// spent pausing so far; `nil` once ``total`` has been waited: the runner gives up.
    static func delay(afterFailures failures: Int, waited: Duration) -> Duration? {
        guard failures >= 1, waited < total else { return nil }
        var delay = first
        for _ in 1..<min(failures, 16) where delay < cap { delay = min(delay * 2, cap) }
        return min(delay, total - waited)
    }
}

extension AgentRunner {
    /// Performs one of the runner's first calls; while the hub cannot be reached
    /// (`STORE_UNAVAILABLE`), tries again by ``StartupRetry`` (logging each retry), `waited`
    /// counting the pauses of all of them. A stop ends the retries.
    func atStart(
        _ operation: String, _ parameters: JSONValue = .emptyObject, workflowID: String? = nil, waited: inout Duration
    )
        async -> OperationResponse
    {
        var failures = 0
        while true {
            let response = await hub.perform(
                OperationRequest(workflowID: workflowID, operation: operation, parameters: parameters))
            guard response.error?.code == .storeUnavailable, !stop.isSet else { return response }
            failures += 1
            guard let delay = StartupRetry.delay(afterFailures: failures, waited: waited) else { return response }
            log(
                "agent \(options.agentID): \(operation): the hub is unavailable (\(response.error?.message ?? "")); retrying in \(StartupRetry.shown(delay))"
            )
            await stop.sleep(for: delay)
            waited += delay
            if stop.isSet { return response }
        }
    }

    /// Whether the named workflow is unknown to the hub. A hub that cannot be reached
    /// says nothing about that.
    func workflowMissing(_ id: String, waited: inout Duration) async -> Bool {
        let response = await atStart("get-status", workflowID: id, waited: &waited)
        return response.error?.code == .workflowNotFound
    }

    /// Registers the agent; logs the refusal and answers `nil` when the hub refuses or
    /// cannot be reached.
    func register(waited: inout Duration) async -> JSONValue? {
        let response = await atStart(
            "register-agent",
            [
                "agent_id": .string(options.agentID), "specializations": .strings(options.roles),
                "max_concurrent_tasks": .count(options.maxTasks),
            ], waited: &waited)
        if let error = response.error {
            log("agent \(options.agentID): register-agent: \(error.code.name): \(error.message)")
            return nil
        }
        return response.json["result"]
    }

    /// What the hub says of this agent: live (available or busy) and heartbeated within one
    /// and a half of the hub's intervals, with its load and last heartbeat; `nil` when not
    /// (unknown, offline — a runner that stopped says so —, unresponsive, silent), or when
    /// the hub cannot tell.
    private func liveAgent(waited: inout Duration) async -> (load: Int64, last: Int64, interval: HubDuration)? {
        let response = await atStart("monitor-pool", waited: &waited)
        if response.error?.code == .forbidden {
            // An agent token may not read the pool: say that the check was not made, not that it passed.
            log(
                "agent \(options.agentID): cannot check for another runner under this id (the token may not read monitor-pool)"
            )
            return nil
        }
        let pool = response.json["result"]?["agent_pool"]
        guard let agent = pool?["performance_metrics"]?[options.agentID],
            let status = agent["status"]?.stringValue, status == "available" || status == "busy",
            let last = agent["last_heartbeat"]?.stringValue.flatMap(Timestamp.parseMilliseconds)
        else { return nil }
        // The hub's interval, which its agents heartbeat by; this runner's configuration may differ.
        let interval = pool?["heartbeat_interval"]?.stringValue.flatMap(HubDuration.init(parsing:)) ?? heartbeatInterval
        guard Self.nowMilliseconds() - last < interval.milliseconds * 3 / 2 else { return nil }
        return (agent["current_load"]?.intValue ?? 0, last, interval)
    }

    static func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Why it looks as if another runner works under this id now: the agent is available or
    /// busy and heartbeated within one and a half of the hub's intervals. Two runners under
    /// one id release each other's leases at every heartbeat (each names only its own), so a
    /// task would run again and again and never be recorded — an idle first runner too, as
    /// soon as the second claims. An agent holding tasks is taken as a runner's at once; an
    /// idle one may only have been registered (register-agent sets its last heartbeat too),
    /// so the runner watches for up to one interval after that heartbeat: a runner heartbeats
    /// every half interval. `nil` when not, or when the hub cannot tell.
    func anotherRunner(waited: inout Duration) async -> String? {
        guard let first = await liveAgent(waited: &waited) else { return nil }
        func silence(_ last: Int64) -> HubDuration { HubDuration(milliseconds: max(0, Self.nowMilliseconds() - last)) }
        if first.load > 0 {
            return "\(first.load) task(s), last heartbeat \(silence(first.last)) ago"
        }
        let until = first.last + first.interval.milliseconds
        log(
            "agent \(options.agentID): the hub saw this agent \(silence(first.last)) ago; watching until \(HubDuration(milliseconds: max(0, until - Self.nowMilliseconds()))) from now for another runner's heartbeat"
        )
        let step = Duration.milliseconds(min(1000, max(10, first.interval.milliseconds / 8)))
        while !stop.isSet, Self.nowMilliseconds() < until {
            await stop.sleep(for: step)
            guard let seen = await liveAgent(waited: &waited) else { return nil }
            if seen.last != first.last || seen.load > 0 {
                return "\(seen.load) task(s), heartbeating (last \(silence(seen.last)) ago)"
            }
        }
        return nil
    }
}

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
    /// counting the pauses of all of them. A stop ends the retries, the pause and the call
    /// itself at once, and answers `nil`.
    func atStart(
        _ operation: String, _ parameters: JSONValue = .emptyObject, workflowID: String? = nil, waited: inout Duration
    )
        async -> OperationResponse?
    {
        let request = OperationRequest(workflowID: workflowID, operation: operation, parameters: parameters)
        var failures = 0
        while true {
            guard let response = await unlessStopped({ [hub] in await hub.perform(request) }) else { return nil }
            guard response.error?.code == .storeUnavailable else { return response }
            failures += 1
            guard let delay = StartupRetry.delay(afterFailures: failures, waited: waited) else { return response }
            log(
                "agent \(options.agentID): \(operation): the hub is unavailable (\(response.error?.message ?? "")); retrying in \(StartupRetry.shown(delay))"
            )
            await stop.sleep(for: delay)
            waited += delay
            if stop.isSet { return nil }
        }
    }

    /// `body`'s answer, or `nil` as soon as a stop is asked for (`body` is then cancelled),
    /// so that no call the runner waits on outlasts a signal.
    func unlessStopped<T: Sendable>(_ body: @escaping @Sendable () async -> T) async -> T? {
        guard !stop.isSet else { return nil }
        let stop = self.stop
        return await withTaskGroup(of: T?.self) { group in
            group.addTask { await body() }
            group.addTask {
                await stop.wait()
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// Whether the named workflow is unknown to the hub. A hub that cannot be reached
    /// says nothing about that.
    func workflowMissing(_ id: String, waited: inout Duration) async -> Bool {
        let response = await atStart("get-status", workflowID: id, waited: &waited)
        return response?.error?.code == .workflowNotFound
    }

    /// Registers the agent under this runner's `runner_id`; logs the refusal and answers `nil`
    /// when the hub refuses (another runner holds the id: `VERSION_CONFLICT`) or cannot be
    /// reached, and unlogged when a stop came first.
    func register(waited: inout Duration) async -> JSONValue? {
        let answer = await atStart(
            "register-agent",
            [
                "agent_id": .string(options.agentID), "runner_id": .string(runnerID),
                "specializations": .strings(options.roles), "max_concurrent_tasks": .count(options.maxTasks),
            ], waited: &waited)
        guard let response = answer else { return nil }
        if let error = response.error, error.code == .versionConflict {
            let wait = error.context?["retry_after"]?.stringValue.map { " (\($0) from now)" } ?? ""
            log(
                "agent \(options.agentID): another runner holds this id (\(Self.holder(error))); stop it, wait until it has been silent for 3 heartbeat intervals\(wait), or use another --id"
            )
            return nil
        }
        if let error = response.error {
            log("agent \(options.agentID): register-agent: \(error.code.name): \(error.message)")
            return nil
        }
        return response.json["result"]
    }

    /// The runner holding the id, as a refusal (`VERSION_CONFLICT`) names it: its `runner_id`
    /// and how long ago the hub last heard from it.
    static func holder(_ error: HubError) -> String {
        let context = error.context ?? .emptyObject
        let runner = context["runner_id"]?.stringValue ?? "unknown runner"
        guard let silent = context["silent_for"]?.stringValue else { return runner }
        return "\(runner), last heartbeat \(silent) ago"
    }
}

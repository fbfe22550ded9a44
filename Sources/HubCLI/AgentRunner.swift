import Foundation
import HubCore
import HubEngine
import Synchronization

/// How many of the runner's tasks are running now.
final class RunningCount: Sendable {
    private let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .acquiring) }
    func add(_ delta: Int) { count.add(delta, ordering: .acquiringAndReleasing) }
}

/// `coordination-hub agent`: the bundled runner that makes the dispatcher usable
/// without writing a client (§7). It registers, heartbeats on a timer, claims,
/// runs each task's command, and reports the outcome by exit status.
struct AgentRunner {
    struct Options {
        var agentID: String
        var roles: [String]
        var maxTasks: Int
        var workflowID: String?
        var command: [String]
        /// Pause between claims that found nothing.
        var idleDelay: HubDuration
        /// Through a server: how long each claim waits there for work (a long poll) instead of pausing here.
        var claimWait: HubDuration? = nil
    }

    /// The local engine, or a server through `--hub`.
    let hub: any OperationPerformer
    let heartbeatInterval: HubDuration
    let options: Options
    let log: @Sendable (String) -> Void
    let stop: StopFlag

    /// The leases this agent knows it holds, sent with each heartbeat.
    let held = HeldLeases()
    /// Its runs by workspace: a HEAD that moved while two of them ran in one is neither's evidence.
    let workspaceRuns = WorkspaceRuns()
    /// This process's `runner_id`, sent with its registration, every heartbeat and claim: the hub
    /// refuses it while another runner holds the agent id, and refuses the other's once this
    /// one holds it, so two runners never work under one id.
    let runnerID = RandomIDGenerator().make("run")

    /// Bytes of a task's output kept as its result's tail.
    static let outputTail = 4096
    /// Longest `NAME=value` one environment variable may be on Linux (MAX_ARG_STRLEN, 32
    /// pages), less room for the name.
    static let largestVariable = 128 * 1024 - 64

    func run() async -> Int32 {
        // The pauses of the first calls while the hub cannot be reached, all counted together.
        var waited = Duration.zero
        if let id = options.workflowID, await workflowMissing(id, waited: &waited) {
            log("agent \(options.agentID): workflow \(id) was not found; nothing to work on")
            return 1
        }
        guard let registered = await register(waited: &waited) else {
            // Stopped while waiting for the hub: nothing was taken, so nothing is wrong.
            if stop.isSet { log("agent \(options.agentID): stopped") }
            return stop.isSet ? 0 : 1
        }
        // An agent without roles is offered only the tasks that name no role (§7: it has every role a task needs).
        let roles =
            options.roles.isEmpty
            ? "no roles (only tasks without a role)" : "roles \(options.roles.joined(separator: ","))"
        log(
            "agent \(options.agentID): registered with \(roles), up to \(options.maxTasks) task(s) (runner \(runnerID))"
        )
        // The hub's interval is the one it judges silence by; a local configuration can differ from a server's.
        let interval =
            registered["heartbeat_interval"]?.stringValue.flatMap(HubDuration.init(parsing:)) ?? heartbeatInterval
        let heartbeat = Task { await heartbeatLoop(every: interval) }
        let running = RunningCount()
        // Set when a claim finds another runner holding the id (its heartbeat may not have yet),
        // or the hub refusing the runner's token.
        var displaced = false
        var refused = false
        await withTaskGroup(of: Void.self) { group in
            // Ends the wait for a free slot below when a stop comes; released when the loop ends.
            let loopEnded = StopFlag()
            group.addTask { await Self.first(stop, loopEnded) }
            // Whether the last claim was a long poll that came back empty: the server ends one
            // early when its workflow is over, so the runner looks at the workflow before the next.
            var emptyLongPoll = false
            var failedClaims = 0
            // Why the last empty claim found nothing (its next_steps), as last logged: said once
            // per change, not at every poll.
            var idleReason: String?
            while !stop.isSet {
                if let id = options.workflowID, running.value == 0 || emptyLongPoll, let ended = await workflowEnded(id)
                {
                    if running.value == 0 {
                        let after =
                            ended == "failed"
                            ? " (failed: resume it and start the runner again to go on)" : " (\(ended))"
                        log("agent \(options.agentID): workflow \(id) is finished\(after); exiting")
                        break
                    }
                    // Over while commands still run (their leases ended with it): nothing can be
                    // claimed, and a claim would answer at once; wait for a command to end instead.
                    _ = await group.next()
                    continue
                }
                emptyLongPoll = false
                var claimed: [JSONValue] = []
                let busy = running.value
                if busy < options.maxTasks {
                    var parameters: JSONValue = [
                        "agent_id": .string(options.agentID), "runner_id": .string(runnerID),
                        "max_tasks": .count(options.maxTasks - busy),
                    ]
                    if let id = options.workflowID { parameters["workflow_id"] = .string(id) }
                    if let wait = options.claimWait { parameters["wait"] = .string(wait.description) }
                    let (answer, steps, refusal) = await claim(parameters)
                    if let refusal, refusal.code == .versionConflict {
                        // Another runner took the id over before this one's heartbeat could tell it.
                        giveUp(
                            "claim refused: another runner holds this id (\(Self.holder(refusal))); it took the id over, so this runner stops"
                        )
                        displaced = true
                        break
                    }
                    if let refusal, refusal.code == .unauthorized {
                        giveUp(Self.tokenRefused(refusal))
                        refused = true
                        break
                    }
                    if refusal?.code == .budgetExhausted {
                        // Every further claim would be refused alike: said once, and the runner ends.
                        log(
                            "agent \(options.agentID): its budget is spent (\(refusal?.message ?? "")); no new claims; exiting once running tasks finish"
                        )
                        break
                    }
                    claimed = answer?["tasks"]?.arrayValue ?? []
                    // The hub says why there is nothing (a paused workflow, a spent budget, a
                    // pool the agent is not in): a runner that only waited never said.
                    let reason = steps.joined(separator: "; ")
                    if answer != nil, claimed.isEmpty, !reason.isEmpty, reason != idleReason {
                        log("agent \(options.agentID): nothing to claim: \(reason)")
                        idleReason = reason
                    }
                    emptyLongPoll = options.claimWait != nil && answer != nil && claimed.isEmpty
                    // A failed claim (a hub restarting) is not a long poll: pause before the next,
                    // longer after each failure in a row (up to 5s), so a hub that is down for a
                    // while gets (and the log shows) a claim every few seconds, not two a second.
                    if answer == nil {
                        failedClaims += 1
                        await stop.sleep(for: Self.pause(afterFailures: failedClaims, idle: options.idleDelay))
                    } else {
                        failedClaims = 0
                    }
                }
                if stop.isSet {
                    // Claimed as the stop came: not started, so given back at once.
                    for task in claimed { await giveBack(task) }
                    break
                }
                for task in claimed {
                    // The claim's sweep may have timed the task out and handed its retry back to this
                    // runner before a heartbeat told it: the earlier run's lease is gone, so it stops.
                    held.stopOtherRuns(of: Self.taskKey(task), keeping: task["lease_id"]?.stringValue ?? "")
                    held.insert(task["lease_id"]?.stringValue ?? "", task: Self.taskKey(task))
                    running.add(1)
                    group.addTask {
                        await execute(task)
                        held.remove(task["lease_id"]?.stringValue ?? "")
                        running.add(-1)
                    }
                }
                if claimed.isEmpty && busy >= options.maxTasks {
                    // No free slot: claim again as soon as a task ends, not after a pause.
                    _ = await group.next()
                } else if claimed.isEmpty && options.claimWait == nil {
                    // Nothing to take now: look again after a pause.
                    await stop.sleep(for: .milliseconds(options.idleDelay.milliseconds))
                }
            }
            loopEnded.set()
            if running.value > 0 {
                log("agent \(options.agentID): stopping; waiting for \(running.value) running task(s)")
            }
            // A second signal while waiting: stop the commands; their tasks are reported for retry.
            let hurry = Task {
                await stop.urgent?.wait()
                guard !Task.isCancelled else { return }
                let stopped = held.stopAll(because: .runnerStopped)
                if stopped > 0 { log("agent \(options.agentID): stopping \(stopped) running command(s)") }
            }
            await group.waitForAll()
            hurry.cancel()
        }
        // Ended before the last call, so that no heartbeat of its own follows it and brings the agent back.
        heartbeat.cancel()
        let ending: HeartbeatEnding = displaced ? .displaced : refused ? .refused : await heartbeat.value
        if ending == .cancelled { await goOffline() }
        log("agent \(options.agentID): stopped")
        // Stopped by the hub (its agent deregistered, its token refused, its id taken over): 1.
        // Deregistering with authentication revokes the token too, and which of the two a
        // runner hears first is a race: both end alike.
        return ending == .cancelled ? 0 : 1
    }

    /// The runner's last call, once its leases are given back: the agent is set offline, so
    /// that its silence from now on is not taken for a failure (`agent.<id>.failed`,
    /// unresponsive) and no task is offered to it until a runner registers it again.
    private func goOffline() async {
        let response = await hub.perform(
            OperationRequest(
                workflowID: nil, operation: "heartbeat",
                parameters: [
                    "agent_id": .string(options.agentID), "runner_id": .string(runnerID),
                    "held_leases": .strings(held.all), "offline": true,
                ]))
        if let error = response.error {
            log("agent \(options.agentID): heartbeat (offline): \(error.code.name): \(error.message)")
        }
    }

    /// A task's identity across its attempts (leases differ).
    static func taskKey(_ task: JSONValue) -> String {
        (task["workflow_id"]?.stringValue ?? "") + "/" + (task["task_id"]?.stringValue ?? "")
    }

    /// Returns once either flag is set.
    static func first(_ one: StopFlag, _ other: StopFlag) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await one.wait() }
            group.addTask { await other.wait() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Ends the run: says why, stops the commands (their leases are not this runner's any
    /// more) and claims nothing further.
    private func giveUp(_ why: String) {
        log("agent \(options.agentID): \(why)")
        held.stopAll(because: .leaseLost)
        stop.set()
    }

    static func tokenRefused(_ error: HubError) -> String {
        "the hub no longer accepts this runner's token (\(error.message)); stopping"
    }

    /// Why the heartbeats ended.
    enum HeartbeatEnding {
        /// The runner is stopping: it sets its agent offline last.
        case cancelled
        /// The agent was deregistered: there is nothing left to set offline; the runner exits 1.
        case deregistered
        /// Another runner holds the id now: the agent is its, and the runner exits 1.
        case displaced
        /// The hub refuses the runner's token (revoked with its agent): the runner exits 1.
        case refused
    }

    /// Heartbeats until cancelled, the agent is deregistered or another runner holds its id.
    private func heartbeatLoop(every interval: HubDuration) async -> HeartbeatEnding {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(max(10, interval.milliseconds / 2)))
            if Task.isCancelled { return .cancelled }
            let snapshot = held.all
            let response = await hub.perform(
                OperationRequest(
                    workflowID: nil, operation: "heartbeat",
                    parameters: [
                        "agent_id": .string(options.agentID), "runner_id": .string(runnerID),
                        "held_leases": .strings(snapshot),
                    ]))
            if response.error?.code == .agentNotFound {
                // Deregistered: its leases were revoked and its tasks are others' now.
                giveUp("the hub no longer knows this agent (deregistered); stopping")
                return .deregistered
            }
            if let error = response.error, error.code == .unauthorized {
                // The token was revoked (its agent deregistered) or is no longer accepted: every
                // further call would be refused alike, so its leases are not this runner's to run.
                giveUp(Self.tokenRefused(error))
                return .refused
            }
            if let error = response.error, error.code == .versionConflict {
                // Another runner registered the id (this one was silent, or set offline): its
                // heartbeats would release this runner's leases, so this one's runs are not its own.
                giveUp(
                    "another runner holds this id (\(Self.holder(error))); it took the id over, so this runner stops")
                return .displaced
            }
            guard response.error == nil, let answer = response.json["result"] else { continue }
            for lease in Self.lost(held: snapshot, renewed: answer) {
                // A task that ended since the snapshot has nothing left to stop.
                held.stop(lease, because: .leaseLost)
            }
        }
        return .cancelled
    }

    /// The leases of `held` (sent with a heartbeat) that its answer did not renew: the hub
    /// has taken them back (the task timed out, or the lease was revoked or expired), or
    /// the task has just been reported.
    static func lost(held: [String], renewed answer: JSONValue) -> [String] {
        let renewed = Set((answer["leases"]?.arrayValue ?? []).compactMap { $0["lease_id"]?.stringValue })
        return held.filter { !renewed.contains($0) }
    }

    /// Claims work: answers the claim's result with its `next_steps`, or the hub's refusal
    /// (logged, but for a spent budget, which the caller reports). A stop while the claim waits
    /// cancels it (the server withdraws a waiting claim whose client has gone) and answers
    /// neither, unlogged.
    private func claim(_ parameters: JSONValue) async -> (JSONValue?, [String], HubError?) {
        let request = OperationRequest(workflowID: nil, operation: "claim-task", parameters: parameters)
        let response = await withTaskGroup(of: OperationResponse?.self) { group in
            group.addTask { await hub.perform(request) }
            group.addTask {
                await stop.wait()
                return nil
            }
            // Whichever ends first, the claim's own answer is kept: tasks it took as the stop
            // came are given back, not left to lapse.
            var answer: OperationResponse?
            while let next = await group.next() {
                group.cancelAll()
                if let next { answer = next }
            }
            return answer
        }
        guard let response else { return (nil, [], nil) }
        if let error = response.error {
            // A claim cut short by the stop is not an error worth reporting.
            if !stop.isSet && error.code != .budgetExhausted && error.code != .unauthorized {
                log("agent \(options.agentID): claim-task: \(error.code.name): \(error.message)")
            }
            return (nil, [], error)
        }
        let steps = response.json["next_steps"]?.arrayValue?.compactMap(\.stringValue) ?? []
        return (response.json["result"], steps, nil)
    }

    /// The pause before the next claim after `failures` failed claims in a row: the idle
    /// delay, doubled for each failure after the first, at most 5s (never less than the delay).
    static func pause(afterFailures failures: Int, idle: HubDuration) -> Duration {
        let idle = max(1, idle.milliseconds)
        let grown = idle << Int64(min(max(0, failures - 1), 16))
        return .milliseconds(max(idle, min(grown, 5_000)))
    }

    /// A task claimed after the stop: given back without running it.
    private func giveBack(_ task: JSONValue) async {
        let taskID = task["task_id"]?.stringValue ?? ""
        let workflowID = task["workflow_id"]?.stringValue ?? ""
        let lease = task["lease_id"]?.stringValue ?? ""
        log("agent \(options.agentID): \(workflowID)/\(taskID) was claimed as the runner stopped; giving it back")
        _ = await release(lease, of: Self.named(workflowID, taskID, lease))
    }

    /// Gives a lease back to the hub with a heartbeat's `released_leases`: its task goes back
    /// to the queue with no attempt counted (a stop is neither the task's failure nor the
    /// agent's; `fail-task` counted both, and a task without retries left failed for good).
    @discardableResult
    private func release(_ lease: String, of task: String, usage: JSONValue? = nil) async -> Bool {
        var parameters: JSONValue = [
            "agent_id": .string(options.agentID), "runner_id": .string(runnerID),
            "held_leases": .strings(held.all.filter { $0 != lease }), "released_leases": [.string(lease)],
        ]
        if let usage { parameters["usage"] = usage }
        return await report("heartbeat", parameters, about: task)
    }

    /// A run as the log names it: `w/t (lease lease_…)`.
    static func named(_ workflowID: String, _ taskID: String, _ lease: String) -> String {
        "\(workflowID)/\(taskID) (lease \(lease))"
    }

    /// Whether the workflow is over (or gone). A hub that cannot be reached says nothing
    /// about that: the agent carries on and asks again; nor does a stop, which ends the call.
    /// How the workflow ended (`completed`, `failed`, `cancelled`, or `removed`), or `nil` while it goes on.
    private func workflowEnded(_ id: String) async -> String? {
        let request = OperationRequest(workflowID: id, operation: "get-status")
        guard let response = await unlessStopped({ [hub] in await hub.perform(request) }) else { return nil }
        if let error = response.error { return error.code == .workflowNotFound ? "removed" : nil }
        let status = response.json["result"]?["workflow_state"]?["status"]?.stringValue ?? ""
        return ["completed", "failed", "cancelled"].contains(status) ? status : nil
    }

    /// Runs one claimed task and reports its outcome.
    private func execute(_ task: JSONValue) async {
        let taskID = task["task_id"]?.stringValue ?? ""
        let lease = task["lease_id"]?.stringValue ?? ""
        let workflowID = task["workflow_id"]?.stringValue ?? ""
        // How the log names this run in the lines about its outcome.
        let run = Self.named(workflowID, taskID, lease)
        var arguments = options.command
        if arguments.isEmpty {
            guard let command = task["command"]?.stringValue else {
                log("agent \(options.agentID): \(run) has no command and none was given; failing it")
                await report(
                    "fail-task",
                    [
                        "lease_id": .string(lease),
                        "error": "the task has no command and the agent runner was given none", "retryable": false,
                    ], about: run)
                return
            }
            arguments = ["/bin/sh", "-c", command]
        }
        let payload = (task["payload"] ?? .null).serialized()
        guard payload.utf8.count < Self.largestVariable else {
            // The system would refuse to start the command (E2BIG): say so, and do not retry.
            log("agent \(options.agentID): task \(taskID)'s payload is too large for its environment; failing it")
            await report(
                "fail-task",
                [
                    "lease_id": .string(lease), "retryable": false,
                    "error": .string(
                        "TASK_PAYLOAD would be \(payload.utf8.count) bytes; the system allows one environment variable at most \(Self.largestVariable) bytes (E2BIG). Keep the payload smaller, e.g. a path to a file with the data."
                    ),
                ], about: run)
            return
        }
        var environment = ProcessInfo.processInfo.environment
        environment["TASK_ID"] = taskID
        environment["TASK_DESCRIPTION"] = task["description"]?.stringValue ?? ""
        environment["TASK_PAYLOAD"] = payload
        environment["WORKFLOW_ID"] = workflowID
        environment["PHASE"] = String(task["phase"]?.intValue ?? 0)
        environment["LEASE_ID"] = lease
        let usageFile = UsageFile.make()
        environment["TASK_USAGE_FILE"] = usageFile?.path
        log(
            "agent \(options.agentID): running \(workflowID)/\(taskID) (attempt \(task["attempt"]?.intValue ?? 1)) under lease \(lease)"
        )
        let directory = task["workspace"]?.stringValue
        // A commit asked for is one the command makes: HEAD as it was before is not evidence of
        // this task's work (any workspace with a history had one).
        let wantsCommit = task["evidence"]?["commit"] == true
        // Every run counts, whether it asks for a commit or not: any command may commit.
        let window = workspaceRuns.begin(in: directory ?? "")
        let headBefore = wantsCommit ? await Self.headCommit(in: directory) : nil
        let (ran, ending) = await held.run(lease) { [arguments, environment] in
            await ChildProcess.run(
                arguments, environment: environment, directory: directory, tailBytes: Self.outputTail, lifeline: true)
        }
        // The commit the task asks for is the one its command left checked out in the workspace,
        // read before the window closes: what another run did within it is seen.
        let head = wantsCommit && ending == nil && ran?.status == 0 ? await Self.headCommit(in: directory) : nil
        let overlapped = workspaceRuns.end(window, in: directory ?? "")
        // What the command says it used goes with its outcome (or, without one, a heartbeat).
        let (usage, unusable) = usageFile?.take() ?? (nil, nil)
        if let unusable {
            log("agent \(options.agentID): \(workflowID)/\(taskID): its TASK_USAGE_FILE is not reported: \(unusable)")
        }
        switch (ran, ending) {
        case (_, .leaseLost?):
            // The hub has given the task to its retry (or failed it): its outcome is no longer this runner's.
            log("agent \(options.agentID): \(workflowID)/\(taskID): lease lost; stopped its command")
            // Named with its ended lease, the usage is charged to this run's workflow, not to the
            // workflows of the leases the agent still holds.
            if let usage { await release(lease, of: run, usage: usage) }
        case (_, .runnerStopped?):
            if await release(lease, of: run, usage: usage) {
                log(
                    "agent \(options.agentID): \(workflowID)/\(taskID) stopped with the runner; given back for another attempt"
                )
            }
        case (let outcome?, nil) where outcome.status == 0:
            let details: JSONValue = ["exit_code": .int(Int64(outcome.status)), "output_tail": .string(outcome.tail)]
            var completion: JSONValue = ["lease_id": .string(lease), "result": details]
            if let usage { completion["usage"] = usage }
            // Why no commit is offered though HEAD moved, for the failure the refusal brings.
            var withheld: String?
            if wantsCommit {
                // Without a commit, the hub's EVIDENCE_MISSING fails the run (retryable) below.
                // A retry's HEAD may be an earlier attempt's commit (it committed, then failed or
                // could not report; its command does not commit twice): it stands as the evidence
                // when it is not the HEAD the hub read before the task's first run (`head_before`,
                // "" for none then), and only then: a commit that was already there, another
                // task's, is not this task's work; nor is one reached while runs overlapped.
                let retry = (task["attempt"]?.intValue ?? 1) > 1
                let first = retry ? task["head_before"]?.stringValue : nil
                if let head, head != headBefore, overlapped {
                    // Another of this runner's tasks ran in the workspace meanwhile: the commit
                    // may be its (each task took the HEAD it found, the other's commit too).
                    workspaceRuns.disown(head)
                    let why =
                        "HEAD moved to \(head.prefix(12)) while another task of this runner ran in the same workspace, so which task made it cannot be told; give tasks that need a commit a workspace each, or run them one at a time (--max-tasks 1)"
                    withheld = why
                    log("agent \(options.agentID): \(run) needs a commit; none is offered: \(why)")
                } else if let head,
                    head != headBefore || (first != nil && head != first && !workspaceRuns.isDisowned(head))
                {
                    completion["evidence"] = ["commit": .string(head)]
                } else {
                    log(
                        "agent \(options.agentID): \(workflowID)/\(taskID) needs a commit, and its command made none (HEAD \(head.map { String($0.prefix(12)) } ?? "absent")\(head == nil ? "" : ", as before it ran"))"
                    )
                }
            }
            let refusal = await send("complete-task", completion, about: run)
            guard let refusal else {
                log("agent \(options.agentID): completed \(workflowID)/\(taskID)")
                return
            }
            guard refusal.code == .evidenceMissing || refusal.code == .evidenceRejected else {
                await reportUsage(usage, of: lease, run: run, refused: refusal)
                return
            }
            // The task stays running (§16) and the lease this runner's; forgotten, the next heartbeat
            // released it with no attempt counted, and the task was claimed and run again for ever.
            // Failed, it counts an attempt, and max_retries ends it.
            var error = details
            error["code"] = .string(refusal.code.name)
            error["message"] = .string(refusal.message + (withheld.map { " (the runner offered none: \($0))" } ?? ""))
            var failure: JSONValue = ["lease_id": .string(lease), "error": error, "retryable": true]
            if let usage { failure["usage"] = usage }
            if let failed = await send("fail-task", failure, about: run) {
                await reportUsage(usage, of: lease, run: run, refused: failed)
            } else {
                log(
                    "agent \(options.agentID): \(workflowID)/\(taskID) failed: its command succeeded but its evidence was refused (\(refusal.code.name))"
                )
            }
        case (let outcome?, nil):
            let details: JSONValue = ["exit_code": .int(Int64(outcome.status)), "output_tail": .string(outcome.tail)]
            var failure: JSONValue = ["lease_id": .string(lease), "error": details]
            if let usage { failure["usage"] = usage }
            if let failed = await send("fail-task", failure, about: run) {
                await reportUsage(usage, of: lease, run: run, refused: failed)
            } else {
                log("agent \(options.agentID): \(workflowID)/\(taskID) failed with exit status \(outcome.status)")
            }
        case (nil, nil):
            break
        }
    }

    /// Reports the usage of a run whose outcome the hub refused (most often LEASE_EXPIRED: the
    /// task timed out or its lease was revoked while the command ran). The refused outcome
    /// recorded nothing, its usage included, so a heartbeat names the lease with the usage and
    /// the hub charges it to the run's workflow (a lease still active is given back). An outcome
    /// the lease had already recorded carried its usage.
    private func reportUsage(_ usage: JSONValue?, of lease: String, run: String, refused: HubError) async {
        let recorded = ["completed", "failed"].contains(refused.context?["lease_state"]?.stringValue ?? "")
        guard let usage, !recorded else { return }
        await release(lease, of: run, usage: usage)
    }

    /// The commit checked out in `directory` (`git rev-parse --verify HEAD`), or `nil`.
    static func headCommit(in directory: String?) async -> String? {
        await GitHead.read(in: directory).commit
    }

    /// Reports an outcome until the hub gives a definite answer: while it cannot be
    /// reached (a server restarting), the lease is still this agent's, so retrying keeps
    /// the outcome from being lost; any answer from the hub itself (success,
    /// `LEASE_EXPIRED`, …) ends it. A first signal does not end it (the runner lets running
    /// commands finish, and a finished command's outcome is what they finished for); a
    /// second one does. Answers whether the hub accepted the outcome; a refusal is logged here,
    /// naming the run `about` (``named(_:_:_:)``) when it is given.
    @discardableResult
    func report(_ operation: String, _ parameters: JSONValue, about run: String? = nil) async -> Bool {
        await send(operation, parameters, about: run) == nil
    }

    /// ``report(_:_:about:)``, answering the hub's refusal (`nil` when it accepted the outcome).
    private func send(_ operation: String, _ parameters: JSONValue, about run: String? = nil) async -> HubError? {
        // "complete-task for w/t (lease …)": a refusal that named the operation alone did not say whose.
        let what = run.map { "\(operation) for \($0)" } ?? operation
        var delay = Duration.milliseconds(100)
        var resent = false
        while true {
            let response = await hub.perform(
                OperationRequest(workflowID: nil, operation: operation, parameters: parameters))
            guard let error = response.error else { return nil }
            // Sent again after an answer was lost: the lease shows the first one was recorded.
            let recorded = operation == "complete-task" ? "completed" : "failed"
            if resent, error.code == .leaseExpired, error.context?["lease_state"]?.stringValue == recorded {
                log("agent \(options.agentID): \(what): recorded before its answer was lost")
                return nil
            }
            // Only a second signal gives up (the first stops claiming, not reporting).
            let giveUp = stop.urgent ?? stop
            guard error.code == .storeUnavailable, !giveUp.isSet else {
                let verb = error.code == .storeUnavailable ? "not sent" : "refused"
                log("agent \(options.agentID): \(what) \(verb): \(error.code.name): \(error.message)")
                return error
            }
            resent = true
            log(
                "agent \(options.agentID): \(what): the hub is unavailable; retrying"
                    + (stop.isSet ? " (a second signal gives up)" : ""))
            await giveUp.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
    }
}

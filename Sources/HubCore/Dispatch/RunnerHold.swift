/// Which runner process works under an agent id (§7).
///
/// Two runners under one id release each other's leases at every heartbeat (each names
/// only its own in `held_leases`), so a task runs again and again and its outcome is never
/// recorded. A runner names itself with a `runner_id` it makes fresh per process; the hub
/// keeps the holder's on the agent and refuses another runner while the agent is live.
/// Callers without a `runner_id` (plain API users) are never refused.
public enum RunnerHold: Equatable, Sendable {
    /// The call goes ahead; afterwards the agent is held by `holder` (`nil`: no runner).
    case proceed(holder: String?)
    /// Another runner, `holder`, holds the agent id: the call is refused and changes nothing.
    case heldByAnother(holder: String)
}

extension Agent {
    /// Whether the agent is live: available or busy, and heard from within 3 heartbeat
    /// intervals at `now` (after that the hub takes it for unresponsive).
    public func isLive(now: Int64, heartbeatInterval: HubDuration) -> Bool {
        (status == .available || status == .busy) && !isSilent(now: now, heartbeatInterval: heartbeatInterval)
    }

    /// What a `register-agent` naming `runnerID` (`nil`: none) does to the hold on this agent
    /// (for a new agent, its record as it is about to be created).
    ///
    /// - The holder registering again, or any runner when no runner holds the agent, or when
    ///   the agent is not live (offline, unresponsive, silent for 3 intervals): it holds it now.
    /// - Another runner while the agent is live: refused.
    /// - No `runner_id`: never refused. The holder keeps its hold while the agent is live; once it
    ///   is not, the hold is cleared, since the registration makes the agent live again and a
    ///   runner that is gone must not keep the next one out for 3 more intervals.
    public func registration(by runnerID: String?, now: Int64, heartbeatInterval: HubDuration) -> RunnerHold {
        let live = isLive(now: now, heartbeatInterval: heartbeatInterval)
        guard let runnerID else { return .proceed(holder: live ? self.runnerID : nil) }
        if let holder = self.runnerID, holder != runnerID, live { return .heldByAnother(holder: holder) }
        return .proceed(holder: runnerID)
    }

    /// What a `heartbeat` naming `runnerID` (`nil`: none) does to the hold on this agent.
    ///
    /// A runner other than the holder is refused whether or not the holder is live: the holder
    /// registered after it, so the sender has lost the id and must stop. A runner heartbeating
    /// an agent no runner holds takes the hold. The holder's `offline` heartbeat (it is stopping)
    /// ends its hold. No `runner_id`: the hold is left as it is.
    public func heartbeat(from runnerID: String?, offline: Bool) -> RunnerHold {
        guard let runnerID else { return .proceed(holder: self.runnerID) }
        if let holder = self.runnerID, holder != runnerID { return .heldByAnother(holder: holder) }
        return .proceed(holder: offline ? nil : runnerID)
    }

    /// What a `claim-task` naming `runnerID` (`nil`: none) meets. Another runner than the
    /// holder is refused, live holder or not: the holder registered after it, so the sender
    /// has lost the id, and a task it took would run beside the holder's. A claim never takes
    /// or drops a hold (registrations and heartbeats do).
    public func claim(by runnerID: String?) -> RunnerHold {
        if let runnerID, let holder = self.runnerID, holder != runnerID { return .heldByAnother(holder: holder) }
        return .proceed(holder: self.runnerID)
    }

    /// The refusal of a call by another runner than `holder`, which holds this agent:
    /// `VERSION_CONFLICT`, with the holder and how long it must stay silent before the id is
    /// free again. `registering`: the call is a registration (the sender may wait and start
    /// again), else a heartbeat or a claim (the sender has lost the id).
    public func heldByAnotherRunner(
        holder: String, now: Int64, heartbeatInterval: HubDuration, registering: Bool
    ) -> HubError {
        let expires = silentAt(defaultInterval: heartbeatInterval)
        let live = isLive(now: now, heartbeatInterval: heartbeatInterval)
        let silent = HubDuration(milliseconds: now - lastHeartbeat)
        // Whole seconds, rounded up: a wait never said shorter than it is.
        let wait = HubDuration(milliseconds: live ? (expires - now + 999) / 1000 * 1000 : 0)
        let message =
            registering
            ? "Agent \(agentID) is held by another runner (\(holder), last heartbeat \(silent) ago): stop that runner, wait until it has been silent for 3 heartbeat intervals (\(wait) from now), or use another agent id"
            : "Agent \(agentID) is held by another runner (\(holder), which took the id over; last heartbeat \(silent) ago): this runner no longer holds the id and must stop"
        let suggestions =
            registering
            ? [
                "Stop the other runner (it sets the agent offline as it stops)",
                "Wait until it has been silent for 3 heartbeat intervals (\(wait) from now) and start again",
                "Use another agent id",
            ]
            : ["Stop this runner: the other one works under the id now", "Start this one under another agent id"]
        return HubError(
            .versionConflict, message,
            details: registering
                ? "One runner at a time works under an agent id; nothing was changed."
                : "This runner no longer holds the agent id; nothing was changed.",
            context: [
                "agent_id": .string(agentID), "runner_id": .string(holder),
                "last_heartbeat": .string(Timestamp.format(milliseconds: lastHeartbeat)),
                "silent_for": .string(silent.description),
                "hold_expires_at": .string(Timestamp.format(milliseconds: expires)),
                "retry_after": .string(wait.description),
            ],
            suggestions: suggestions)
    }
}

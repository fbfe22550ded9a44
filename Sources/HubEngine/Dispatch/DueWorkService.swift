import HubCore
import HubStore
import Logging
import ServiceLifecycle

extension Hub {
    /// Applies what the clock says is due without waiting for an operation to touch
    /// it: silent agents, lapsed leases and task timeouts (the dispatcher's sweep),
    /// then running workflows past their timeout or budget, then the interval checkpoints that are due. Every operation does the
    /// same for what it touches; a long-lived process also does it on a timer.
    public func runDueWork() async throws {
        try await dispatch { _ in }
        let running = try await store.read { tx in
            try tx.workflows(WorkflowQuery(statuses: [.running], limit: 10_000)).workflows.map(\.id)
        }
        for id in running { try await enforceDeadline(id) }
        _ = try await takeDueIntervalCheckpoints()
        await workSignal.notify()
        await eventSignal.notify()
    }
}

/// Runs ``Hub/runDueWork()`` on a timer in a long-lived process (§13: heartbeat
/// monitoring, lease expiry, workflow and task timeouts, interval checkpoints).
public struct DueWorkService: Service {
    public let hub: Hub
    public let interval: Duration

    /// Looks every `interval`; by default half a heartbeat interval, so an agent's
    /// expiry is noticed within that of its third missed heartbeat.
    public init(hub: Hub, interval: Duration? = nil) {
        self.hub = hub
        self.interval =
            interval ?? .milliseconds(max(100, hub.configuration.heartbeatInterval.milliseconds / 2))
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    do {
                        try await hub.runDueWork()
                    } catch {
                        // Cut short by the group stopping (a graceful stop, or the server failing to
                        // start): the work did not fail, it was stopped.
                        if Task.isCancelled { return }
                        hub.logger.error("due work failed", metadata: ["error": "\(error)"])
                    }
                    try await Task.sleep(for: interval)
                }
            }
        } catch is CancellationError {
            return
        }
    }
}

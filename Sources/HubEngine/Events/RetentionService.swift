import HubCore
import Logging
import ServiceLifecycle

/// Applies the persistence policy on a timer in a long-lived process (§10). Each
/// pass is ``Hub/enforceRetention(force:)``, which does nothing until a run is due,
/// so several processes sharing a store do not repeat each other's work.
public struct RetentionService: Service {
    public let hub: Hub
    /// How often to look whether a run is due.
    public let checkEvery: Duration

    public init(hub: Hub, checkEvery: Duration = .seconds(60)) {
        self.hub = hub
        self.checkEvery = checkEvery
    }

    public func run() async throws {
        // A graceful shutdown cancels the wait between passes; that is a normal end.
        do {
            try await loop()
        } catch is CancellationError {
            return
        }
    }

    private func loop() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    if let policy = try await hub.enforceRetention() {
                        hub.logger.info(
                            "event retention ran", metadata: ["removed": "\(policy.lastRemoved ?? 0)"])
                    }
                } catch {
                    // Cut short by the group stopping: not a failure of retention.
                    if Task.isCancelled { return }
                    hub.logger.error("event retention failed", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: checkEvery)
            }
        }
    }
}

import Dispatch
import HubCore
import Metrics
import Synchronization

/// Per-operation figures for `/metrics`: `hub_operations_total{operation, outcome}` (outcome
/// `success` or the error code) and `hub_operation_duration_seconds{operation}`. The request
/// series are labelled by route template (`/v1/{operation}`), which could not tell
/// `claim-task` from `publish-event`. Labels are bounded: an operation the table does not
/// have is `unknown`, and codes are the closed set of `HubError.Code`. A `claim-task` or
/// `allocate-resources` that waits counts its wait in its duration.
final class OperationMetrics: Sendable {
    let factory: any MetricsFactory

    init(factory: any MetricsFactory) { self.factory = factory }

    private struct Key: Hashable {
        let operation: String
        let outcome: String
    }

    private let counters = Mutex<[Key: Counter]>([:])
    private let timers = Mutex<[String: Timer]>([:])

    /// Records one answered operation that began at `started` (`DispatchTime` nanoseconds).
    func record(operation: String, known: Bool, error: HubError.Code?, started: UInt64) {
        let name = known ? operation : "unknown"
        let key = Key(operation: name, outcome: error?.name ?? "success")
        let counter = counters.withLock { known in
            if let counter = known[key] { return counter }
            let counter = Counter(
                label: "hub_operations_total", dimensions: [("operation", key.operation), ("outcome", key.outcome)],
                factory: factory)
            known[key] = counter
            return counter
        }
        counter.increment()
        let timer = timers.withLock { known in
            if let timer = known[name] { return timer }
            let timer = Timer(
                label: "hub_operation_duration_seconds", dimensions: [("operation", name)],
                preferredDisplayUnit: .seconds, factory: factory)
            known[name] = timer
            return timer
        }
        timer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds &- started))
    }
}

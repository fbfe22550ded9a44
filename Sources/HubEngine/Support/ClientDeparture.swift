import Synchronization

/// Whether a client has gone (an HTTP connection's end of input, MCP's end of standard
/// input), and what to do when it goes: a request that waits for work
/// (``OperationRequest/waitsForWork``) is cancelled then, before it takes a task nobody
/// can receive. Actions are registered for the length of one request and removed after
/// it, so a connection that carries many requests does not collect them.
public final class ClientDeparture: Sendable {
    private struct State {
        var gone = false
        var next = 0
        var actions: [Int: @Sendable () -> Void] = [:]
    }
    private let state = Mutex(State())

    public init() {}

    /// Whether the client has gone.
    public var hasHappened: Bool { state.withLock { $0.gone } }

    public func happened() {
        let actions = state.withLock { state -> [@Sendable () -> Void] in
            guard !state.gone else { return [] }
            state.gone = true
            defer { state.actions = [:] }
            return Array(state.actions.values)
        }
        for action in actions { action() }
    }

    /// Runs `operation`, cancelling it if the client goes before it ends; also answers
    /// whether it was cancelled so.
    public func cancellingOnDeparture<T: Sendable>(_ operation: @escaping @Sendable () async -> T) async -> (T, Bool) {
        let task = Task { await operation() }
        let key = state.withLock { state -> Int? in
            guard !state.gone else { return nil }
            state.next += 1
            state.actions[state.next] = { task.cancel() }
            return state.next
        }
        if key == nil { task.cancel() }
        let result = await withTaskCancellationHandler {
            await task.value
        } onCancel: {
            task.cancel()
        }
        guard let key else { return (result, true) }
        let fired = state.withLock { $0.actions.removeValue(forKey: key) } == nil
        return (result, fired)
    }
}

extension OperationRequest {
    /// Whether the request may wait for something to happen before it answers: a
    /// `claim-task` with `wait`, or a new `allocate-resources` (which a server holds until
    /// granted). Its door cancels it when its client goes.
    public var waitsForWork: Bool {
        (operation == "claim-task" && parameters["wait"] != nil)
            || (operation == "allocate-resources" && parameters["request_id"] == nil)
    }
}

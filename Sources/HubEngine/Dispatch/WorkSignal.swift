/// Wakes claims that wait for work (`claim-task` with `wait`) when an operation in
/// this process may have made tasks ready, instead of having them poll (§13).
///
/// A waiter remembers the generation it saw; ``notify()`` moves the generation on and
/// resumes every waiter. ``close()`` (a server stopping) releases them all for good.
public actor WorkSignal {
    private var generation = 0
    private var closed = false
    private var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiter = 0

    public init() {}

    /// Whether ``close()`` was called.
    public var isClosed: Bool { closed }

    /// The current generation, to wait for a later one.
    public func current() -> Int { generation }

    /// Something changed: wake every waiter.
    public func notify() {
        generation += 1
        let resumed = waiters
        waiters = [:]
        for continuation in resumed.values { continuation.resume() }
    }

    /// Releases every waiter now and every later one at once.
    public func close() {
        closed = true
        notify()
    }

    /// Returns once the generation has moved past `seen`, the signal is closed, or `timeout` has passed.
    public func wait(after seen: Int, timeout: Duration) async {
        guard !closed, generation == seen else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForChange(after: seen) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForChange(after seen: Int) async {
        let id = nextWaiter
        nextWaiter += 1
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                if closed || generation != seen || Task.isCancelled {
                    continuation.resume()
                } else {
                    waiters[id] = continuation
                }
            }
        } onCancel: {
            Task { await self.cancel(id) }
        }
    }

    private func cancel(_ id: Int) {
        waiters.removeValue(forKey: id)?.resume()
    }
}

import HubCore

extension Hub {
    /// `get-events` with `follow: true` for a process that prints events as they
    /// arrive: yields each matching event once, in sequence order, reading the store
    /// again as soon as an operation of this process may have appended events (the
    /// hub's `eventSignal`), and every `interval` at the latest (another process's
    /// writes), until `shouldStop` says so; after that one more read sends what is
    /// already there.
    ///
    /// The first read is the operation itself, so a bad request fails at once with
    /// its usual error response. With a subscription and `ack: true` each read
    /// acknowledges what it returns, so a restarted follower carries on where it stopped.
    public func follow(
        _ request: OperationRequest, interval: Duration = .milliseconds(200),
        shouldStop: @escaping @Sendable () -> Bool
    ) -> AsyncThrowingStream<JSONValue, any Error> {
        return AsyncThrowingStream { continuation in
            let task = Task {
                var last: Int64 = request.parameters["after_sequence"]?.intValue ?? -1
                let bySubscription = request.parameters["subscription"] != nil
                // Once a stop is asked for, one more read sends what is already there.
                var draining = false
                while !Task.isCancelled {
                    if shouldStop() {
                        if draining { break }
                        draining = true
                    }
                    // Taken before the read, so a change committed during it still wakes the wait below.
                    let seen = await eventSignal.current()
                    var next = request
                    if !bySubscription && last >= 0 { next.parameters["after_sequence"] = .int(last) }
                    let response = await perform(next)
                    if let error = response.error {
                        continuation.finish(throwing: FollowFailure(response: response, error: error))
                        return
                    }
                    let events = (response.json["result"]?["events"]?.arrayValue ?? []).filter {
                        ($0["sequence"]?.intValue ?? 0) > last
                    }
                    for event in events {
                        continuation.yield(event)
                        last = max(last, event["sequence"]?.intValue ?? last)
                    }
                    if events.isEmpty && !draining {
                        if await eventSignal.isClosed {
                            try? await Task.sleep(for: interval)
                        } else {
                            await eventSignal.wait(after: seen, timeout: interval)
                        }
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// A followed read that failed: carries the operation's error response to print.
public struct FollowFailure: Error {
    public let response: OperationResponse
    public let error: HubError
}

import HubCore

extension OperationRequest {
    /// Whether a followed `get-events` says where it starts: `after_sequence`, `since`, or a
    /// `subscription` (its cursor). `event_id` names one event, which a follow refuses anyway.
    public var namesFollowStart: Bool {
        ["after_sequence", "since", "subscription", "event_id"].contains {
            parameters[$0] != nil && parameters[$0] != .null
        }
    }

    /// This request, starting after `sequence` unless it says where it starts.
    public func startingAfter(_ sequence: Int64) -> OperationRequest {
        guard !namesFollowStart else { return self }
        var fixed = self
        fixed.parameters["after_sequence"] = .int(sequence)
        return fixed
    }
}

extension Hub {
    /// A followed `get-events` that does not say where it starts (no `after_sequence`, `since`
    /// or `subscription`) starts after the newest event at the time of this call: a follow
    /// prints new events (§10), not the whole history first (`after_sequence: 0` asks for
    /// that). Call it before the follow begins (before an event stream answers its headers),
    /// so that an event published once it has returned is never missed.
    /// What cannot be followed is refused here too, before anything says the follow is on, and
    /// so is an `after_sequence` past the newest event (a reconnecting stream's `Last-Event-ID`
    /// from a log since rebuilt): the follow would skip every event until the log reached it.
    public func fixingFollowStart(_ request: OperationRequest) async throws(HubError) -> OperationRequest {
        guard request.operation == "get-events" else { return request }
        if let p = try? GetEvents.Parameters.decode(request.parameters) { try GetEvents.refuseWhatCannotBeFollowed(p) }
        if let name = request.parameters["subscription"]?.stringValue {
            // Refused before the follow says it is on (it said so, then failed).
            do {
                _ = try await store.read { tx in try tx.requireSubscription(name) }
            } catch let error as HubError {
                throw error
            } catch {
                throw HubError(.storeUnavailable, "The subscription could not be read: \(error)")
            }
        }
        let after = request.parameters["after_sequence"]?.intValue
        guard !request.namesFollowStart || after != nil else { return request }
        let newest: Int64
        do {
            newest = try await store.read { tx in try tx.lastEventSequence() }
        } catch let error as HubError {
            throw error
        } catch {
            throw HubError(.storeUnavailable, "The end of the event log could not be read: \(error)")
        }
        if let after, after > newest {
            throw HubError.parameter(
                "after_sequence",
                "is \(after), past the newest event (\(newest)): following from there would skip every event until the log reached it",
                suggestions: ["Follow from at most \(newest)", "Leave it out to follow the events to come"])
        }
        return request.startingAfter(newest)
    }
}

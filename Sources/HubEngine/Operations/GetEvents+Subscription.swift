import HubCore
import HubStore

/// `get-events` for a subscription (its pending events, acknowledged or not) and for one event's chain.
extension GetEvents {
    static func forSubscription(_ name: String, _ p: Parameters, context: OperationContext) async throws
        -> OperationOutcome
    {
        let limit = p.limit ?? 100
        if p.order == "desc" {
            throw HubError.parameter(
                "order", "cannot be used with subscription: its cursor decides where reading starts, in sequence order",
                suggestions: ["Use replay-events to read a subscription's past events again"])
        }
        if p.deadLetters == true { return try await deadLetters(name, limit: limit, context: context) }
        let (selection, _, _) = try selection(p)
        let workflowID = context.workflowID
        if p.ack == true {
            if !selection.isEmpty || workflowID != nil || p.afterSequence != nil {
                throw HubError.parameter(
                    "ack",
                    "cannot be combined with after_sequence, patterns, types, severities, times or a workflow id: "
                        + "acknowledging a narrowed view would pass over events the subscription has not seen",
                    suggestions: ["Acknowledge without the extra filters, or read with ack: false"])
            }
            let (subscription, scan, removed) = try await context.store.write {
                tx -> (Subscription, SubscriptionScan, ClosedRange<Int64>?) in
                var s = try tx.requireSubscription(name)
                let removed = try removedUnread(s, tx)
                let scan = try SubscriptionScan.scan(tx, s, limit: limit)
                s.acknowledge(scan)
                s.countDelivered(scan.events, wanted: scan.events)
                try tx.update(s)
                return (s, scan, removed)
            }
            return outcome(subscription, scan, acknowledged: true, removed: removed)
        }
        let (subscription, view, scan, removed) = try await context.store.read {
            tx -> (Subscription, Subscription, SubscriptionScan, ClosedRange<Int64>?) in
            let s = try tx.requireSubscription(name)
            // After after_sequence, the subscription as it would read had it acknowledged through
            // there (a replay it passed ended, resumed where it returns to); stored nowhere: a
            // follow without ack reads on this way from what it printed, leaving the cursor alone.
            var view = s
            if let after = p.afterSequence { view.acknowledge(through: after) }
            let scan = try SubscriptionScan.scan(tx, view, limit: limit) { event in
                selection.admits(event) && (workflowID == nil || event.workflowID == workflowID)
            }
            return (s, view, scan, try removedUnread(view, tx))
        }
        // Narrowed by extra filters, or starting later than the cursor, the scan did not look at
        // what the subscription selects.
        let whole = selection.isEmpty && workflowID == nil && view.cursor == subscription.cursor
        try await countDelivered(scan, of: subscription, examined: whole, context: context)
        return outcome(subscription, scan, acknowledged: false, removed: removed)
    }

    /// The sequences past the subscription's cursor that event retention removed before it read
    /// them (some may not have matched it), or `nil`: the log may drop what a subscriber has not
    /// read (§10), but the subscriber was not told, and took the next events for all there were.
    static func removedUnread(_ s: Subscription, _ tx: any StoreReader) throws -> ClosedRange<Int64>? {
        guard let first = try tx.firstSequence(after: s.cursor), first > s.cursor + 1 else { return nil }
        return (s.cursor + 1)...(first - 1)
    }

    /// Counts a pull's events as delivered to the subscription, and with `examined` what it
    /// looked at, those not counted before; nothing is written when every one was.
    ///
    /// A pull that starts past what has been handed out (`after_sequence` beyond pending events
    /// not read yet) counts nothing: it does not read on from there, and counting its events
    /// would count the ones it skipped as handed out too. One that reads on from there (a
    /// follow without ack, from the last read's `read_through`) counts as any pull does.
    static func countDelivered(
        _ scan: SubscriptionScan, of read: Subscription, examined: Bool, context: OperationContext
    ) async throws {
        let start = scan.start
        guard readsOn(read, from: start) else { return }
        let wanted = scan.matched.filter { read.filter.admits($0) }
        var counted = read
        counted.countDelivered(scan.events, wanted: wanted, lookedThrough: scan.safeThrough)
        let delivered = counted.counters != read.counters
        let looked = examined && scan.safeThrough > read.counters.examinedThrough
        guard delivered || looked else { return }
        try await context.store.write { tx in
            guard var s = try tx.subscription(read.id), readsOn(s, from: start) else { return }
            let before = s.counters
            s.countDelivered(scan.events, wanted: wanted, lookedThrough: scan.safeThrough)
            // Only while the cursor is where the scan began: otherwise the scan is not this subscription's view.
            if examined && s.cursor == read.cursor { s.absorb(scan, through: scan.safeThrough) }
            if s.counters != before { try tx.update(s) }
        }
    }

    /// Whether a pull of `s` from `start` reads on from what was handed out or acknowledged.
    static func readsOn(_ s: Subscription, from start: Int64) -> Bool {
        start <= max(s.cursor, s.counters.deliveredThrough)
    }

    static func outcome(
        _ s: Subscription, _ scan: SubscriptionScan, acknowledged: Bool, removed: ClosedRange<Int64>? = nil
    ) -> OperationOutcome {
        var steps: [String] = []
        if let removed {
            steps.append(
                "Events \(removed.lowerBound)–\(removed.upperBound) after this subscription's cursor were removed by event retention before it read them (some may not have matched it); they cannot be read or replayed"
            )
        }
        if scan.full || scan.truncated {
            // Unacknowledged, the same events come again: reading past them takes after_sequence.
            steps.append(
                acknowledged
                    ? "More events are pending: call again"
                    : "More events are pending: acknowledge these and call again, or read past them with after_sequence \(scan.safeThrough)"
            )
        }
        if !acknowledged, let last = scan.events.last {
            steps.append(
                "Acknowledge them: coordination-hub ack-events '{\"subscription\": \"\(s.callback)\", \"up_to_sequence\": \(last.sequence)}'"
            )
        }
        return OperationOutcome(
            result: [
                "subscription_id": .string(s.id), "events": .array(scan.events.map(\.json)),
                "count": .count(scan.events.count), "acknowledged": .bool(acknowledged), "cursor": .int(s.cursor),
                "last_sequence": .optional(scan.events.last?.sequence),
                // How far the read looked: nothing it selects lies between where it started and
                // here but its events, so a read without ack goes on with after_sequence from here
                // (a subscription that matches rarely is not scanned again from the same place).
                "read_through": .int(scan.safeThrough),
                "removed_unread": removed.map {
                    ["from_sequence": .int($0.lowerBound), "through_sequence": .int($0.upperBound)]
                } ?? .null,
            ],
            nextSteps: steps)
    }

    static func deadLetters(_ name: String, limit: Int, context: OperationContext) async throws -> OperationOutcome {
        let (s, letters, events) = try await context.store.read { tx -> (Subscription, [DeadLetter], [HubEvent?]) in
            let s = try tx.requireSubscription(name)
            let letters = try tx.deadLetters(subscriptionID: s.id, afterSequence: 0, limit: limit)
            return (s, letters, try letters.map { try tx.event(id: $0.eventID) })
        }
        let entries = zip(letters, events).map { letter, event -> JSONValue in
            var json = letter.json
            json["event"] = event?.json ?? .null
            return json
        }
        return OperationOutcome(
            result: ["subscription_id": .string(s.id), "dead_letters": .array(entries), "count": .count(entries.count)])
    }

    /// Links followed each way at most, so a long chain cannot make one call unbounded.
    static let chainLimit = 1000

    /// One event, and with `chain` what caused it (nearest first) and what it caused (in sequence order).
    static func one(_ eventID: String, chain: Bool, context: OperationContext) async throws -> OperationOutcome {
        let workflowID = context.workflowID
        let (event, causedBy, causes) = try await context.store.read { tx -> (HubEvent, [HubEvent], [HubEvent]) in
            guard let event = try tx.event(id: eventID), workflowID == nil || event.workflowID == workflowID else {
                throw HubError.parameter(
                    "event_id", "names no event\(workflowID.map { " of workflow \($0)" } ?? "")",
                    suggestions: ["Find event ids with get-events"])
            }
            guard chain else { return (event, [], []) }
            var causedBy: [HubEvent] = []
            var seen: Set<String> = [event.eventID]
            var next = event.metadata.causationID
            while let id = next, causedBy.count < chainLimit, seen.insert(id).inserted, let cause = try tx.event(id: id)
            {
                causedBy.append(cause)
                next = cause.metadata.causationID
            }
            var causes: [HubEvent] = []
            var frontier = [event.eventID]
            while !frontier.isEmpty && causes.count < chainLimit {
                let found = try tx.events(causedBy: frontier).filter { seen.insert($0.eventID).inserted }
                causes += found.prefix(chainLimit - causes.count)
                frontier = found.map(\.eventID)
            }
            return (event, causedBy, causes.sorted { $0.sequence < $1.sequence })
        }
        var result: JSONValue = ["event": event.json, "events": .array([event.json]), "count": 1]
        if chain {
            result["caused_by"] = .array(causedBy.map(\.json))
            result["causes"] = .array(causes.map(\.json))
        }
        return OperationOutcome(result: result)
    }
}

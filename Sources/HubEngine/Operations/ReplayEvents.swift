import HubCore
import HubStore

/// `replay-events`: rewind a subscription to redeliver a range of the log (§10).
enum ReplayEvents {
    struct Parameters: OperationParameters {
        var subscription: String
        var fromSequence: Int64?
        var fromTime: String?
        var toSequence: Int64?
        var toTime: String?

        static let schema = Schema.object([
            .init("subscription", .string("Its sub_… id or callback name.", maxLength: 128), required: true),
            .init("from_sequence", .integer("Redeliver from this sequence (inclusive).", min: 1)),
            .init("from_time", .dateTime("Redeliver from this time (point in time).")),
            .init("to_sequence", .integer("Through this sequence (inclusive); to the present when absent.", min: 1)),
            .init("to_time", .dateTime("Through this time (inclusive).")),
        ])
    }

    static let descriptor = OperationDescriptor(
        "replay-events", scope: .hub, mutating: false, parameters: Parameters.self,
        summary: "Rewind a subscription: its matching events in a sequence or time range are delivered again.",
        discussion: """
            Give from_sequence or from_time, and optionally to_sequence or to_time (bounds are inclusive). With \
            an end, the subscription returns to where it was once the range has been acknowledged; without one it \
            carries on from the start of the range. A range that starts after the subscription's position holds \
            nothing delivered yet: the cursor stays, so no unacknowledged event before the range is skipped. The subscription's patterns and filters apply; with a workflow \
            id, only that workflow's events are delivered again. The result gives the cursor and events_in_range \
            (the matching events in the range; null when the range spans more than 100,000 events, which are not \
            counted). \
            A time window that holds no event (to_time at or after from_time) succeeds with events_in_range 0 and \
            leaves the subscription as it was: nothing in the window can be delivered again, and rewinding to its \
            start would hand out again the events after it. An end before the start (to_time before from_time, or \
            a to_sequence before the first sequence of the range) is INVALID_PARAMETERS.
            """,
        example: """
            coordination-hub replay-events '{"subscription": "ci-watcher", "from_time": "2026-11-30T09:00:00Z", "to_time": "2026-11-30T10:00:00Z"}'
            """,
        workflowID: "Only this workflow's events in the range are delivered again.",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        if (p.fromSequence == nil) == (p.fromTime == nil) {
            throw HubError.parameter("from_sequence", "or from_time is required (one of them, not both)")
        }
        if p.toSequence != nil && p.toTime != nil {
            throw HubError.parameter("to_sequence", "and to_time cannot both be given")
        }
        let workflowID = context.workflowID
        let fromTime = try p.fromTime.map { text throws(HubError) in try time(text, "from_time") }
        let toTime = try p.toTime.map { text throws(HubError) in try time(text, "to_time") }
        if let fromTime, let toTime, toTime < fromTime {
            throw HubError.parameter(
                "to_time",
                "is \(p.toTime ?? ""), before from_time \(p.fromTime ?? ""): the window ends before it starts",
                suggestions: ["Give a to_time at or after from_time, or leave it out to replay to the present"])
        }
        let (subscription, first, last, count, ahead) = try await context.store.write {
            tx -> (Subscription, Int64, Int64?, Int?, Bool) in
            var s = try tx.requireSubscription(p.subscription)
            let newest = try tx.lastEventSequence()
            let first: Int64
            if let n = p.fromSequence {
                // Past the next sequence the cursor would skip events not yet published (ack-events' rule).
                guard n <= newest + 1 else {
                    throw HubError.parameter(
                        "from_sequence", "is \(n), past the newest event (\(newest))",
                        suggestions: ["Replay from at most \(newest + 1)"])
                }
                first = n
            } else {
                first = try fromTime.flatMap { try tx.firstSequence(atOrAfter: $0) } ?? newest + 1
            }
            var last: Int64? = p.toSequence
            if let toTime { last = try tx.lastSequence(atOrBefore: toTime) }
            // A time window (to_time not before from_time, checked above) may hold no event: its
            // last sequence is then the one before its first. A bound given as a sequence that
            // ends before the start is a reversed range.
            if let last, last < first, fromTime == nil || toTime == nil {
                throw HubError.parameter(
                    p.toTime == nil ? "to_sequence" : "to_time", "ends the range before it starts (sequence \(first))")
            }
            guard let last, last < first else {
                // A range reaching past the newest event is open: what comes next belongs to it.
                let through = last.map { min($0, newest) }.flatMap { $0 < first ? nil : $0 }
                let ahead = s.isAhead(of: first)
                s.replay(from: first, through: through, workflowID: workflowID)
                try tx.update(s)
                // §17: the number of events in the range, as the subscription selects them; not
                // the unacknowledged ones after it, which the subscription hands out too.
                var window = s
                if ahead {
                    // Counted as a replay would read it; the subscription itself did not move.
                    window.cursor = max(0, first - 1)
                    window.replayNarrowing = workflowID.map { ReplayNarrowing(workflowID: $0, through: .max) }
                }
                if let through {
                    window.replayEnd = through
                    window.resumeAt = .max
                }
                let count = try SubscriptionScan.pendingCounts(tx, [window]).first ?? nil
                return (s, first, last, count, ahead)
            }
            // An empty window: nothing to deliver again, so the subscription stays as it was.
            return (s, first, last, 0, false)
        }
        return OperationOutcome(
            result: [
                "subscription_id": .string(subscription.id), "from_sequence": .int(first),
                "to_sequence": .optional(last), "cursor": .int(subscription.cursor),
                // null past SubscriptionScan's counting limit, rather than a guess.
                "events_in_range": count.map { .count($0) } ?? .null,
                "subscription": subscription.json,
            ],
            nextSteps: last.map { $0 < first } == true
                ? ["The window holds no events: nothing is delivered again and the cursor did not move"]
                : ahead
                    ? [
                        "The range starts after the subscription's position (sequence \(subscription.position)): its events have not been delivered yet and come in order; the cursor did not move"
                    ]
                    : [
                        "Read the replayed events: coordination-hub get-events '{\"subscription\": \"\(subscription.callback)\", \"ack\": true}'"
                    ])
    }

    static func time(_ text: String, _ field: String) throws(HubError) -> Int64 {
        guard let t = Timestamp.parseMilliseconds(text) else {
            throw HubError.parameter(field, "is not an RFC 3339 time")
        }
        return t
    }
}

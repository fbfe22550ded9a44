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
            Give from_sequence or from_time, and optionally to_sequence or to_time. With an end, the subscription \
            returns to where it was once the range has been acknowledged; without one it carries on from the start \
            of the range. The subscription's patterns and filters apply; with a workflow id, only that workflow's \
            events are delivered again.
            """,
        example: """
            coordination-hub replay-events '{"subscription": "ci-watcher", "from_time": "2026-11-30T09:00:00Z", "to_time": "2026-11-30T10:00:00Z"}'
            """,
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
        let (subscription, first, last, count) = try await context.store.write {
            tx -> (Subscription, Int64, Int64?, Int?) in
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
            if let last, last < first {
                throw HubError.parameter(
                    p.toTime == nil ? "to_sequence" : "to_time", "ends the range before it starts (sequence \(first))")
            }
            s.replay(from: first, through: last.map { min($0, newest) }, workflowID: workflowID)
            try tx.update(s)
            // §17: the number of events in the range, as the subscription selects them.
            let count = try SubscriptionScan.pendingCounts(tx, [s]).first ?? nil
            return (s, first, last, count)
        }
        return OperationOutcome(
            result: [
                "subscription_id": .string(subscription.id), "from_sequence": .int(first),
                "to_sequence": .optional(last), "cursor": .int(subscription.cursor),
                // null past SubscriptionScan's counting limit, rather than a guess.
                "events_in_range": count.map { .count($0) } ?? .null,
                "subscription": subscription.json,
            ],
            nextSteps: [
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

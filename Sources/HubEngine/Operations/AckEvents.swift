import HubCore
import HubStore

/// `ack-events`: move a subscription's cursor forward (§10).
enum AckEvents {
    struct Parameters: OperationParameters {
        var subscription: String
        var upToSequence: Int64
        static let schema = Schema.object([
            .init("subscription", .string("Its sub_… id or callback name.", maxLength: 128), required: true),
            .init(
                "up_to_sequence", .integer("Acknowledge every event through this sequence.", min: 0), required: true),
        ])
    }

    static let descriptor = OperationDescriptor(
        "ack-events", scope: .hub, mutating: false, parameters: Parameters.self,
        summary: "Acknowledge a subscription's events through a sequence: they are not delivered to it again.",
        discussion: "The cursor only moves forward; to see events again use replay-events.",
        example: "coordination-hub ack-events '{\"subscription\": \"ci-watcher\", \"up_to_sequence\": 42}'",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let (before, after) = try await context.store.write { tx -> (Subscription, Subscription) in
            let s = try tx.requireSubscription(p.subscription)
            let last = try tx.lastEventSequence()
            if p.upToSequence > last {
                throw HubError.parameter(
                    "up_to_sequence", "is \(p.upToSequence), past the newest event (\(last))",
                    suggestions: ["Acknowledge at most through \(last)"])
            }
            var updated = s
            if p.upToSequence > s.cursor {
                // Count what is acknowledged, page by page, so the counters stay real. During a
                // bounded replay that is the replayed range and, past the point the replay
                // returns to, what follows it (what lies between was acknowledged before the
                // replay): counting up to the range's end alone left the rest out.
                for (from, bound) in acknowledgedRanges(s, through: p.upToSequence) {
                    var window = s
                    window.cursor = from
                    window.replayEnd = bound
                    window.resumeAt = nil
                    while window.cursor < bound {
                        let scan = try SubscriptionScan.scan(tx, window, limit: Int.max)
                        updated.absorb(scan, through: scan.safeThrough)
                        updated.counters.acked += scan.events.count
                        guard scan.safeThrough > window.cursor else { break }
                        window.cursor = scan.safeThrough
                    }
                }
                updated.acknowledge(through: p.upToSequence)
            }
            if updated != s { try tx.update(updated) }
            return (s, updated)
        }
        return OperationOutcome(
            result: [
                "subscription_id": .string(after.id), "previous_cursor": .int(before.cursor),
                "cursor": .int(after.cursor),
                "acknowledged": .count(after.counters.acked - before.counters.acked),
            ])
    }

    /// The stretches `(after, through]` of the log that acknowledging `s` through `sequence`
    /// acknowledges: from the cursor on; during a bounded replay, the replayed range up to
    /// `sequence` and, when `sequence` lies past where the replay returns to, the events after
    /// that point.
    static func acknowledgedRanges(_ s: Subscription, through sequence: Int64) -> [(after: Int64, through: Int64)] {
        guard let end = s.replayEnd else { return [(s.cursor, sequence)] }
        var ranges = [(after: s.cursor, through: min(end, sequence))]
        let resume = max(end, s.resumeAt ?? end)
        if sequence > resume { ranges.append((resume, sequence)) }
        return ranges
    }
}

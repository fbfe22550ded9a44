/// What `optimize-subscriptions` tells a subscriber, from real counts only (§10):
/// patterns that never match, patterns that match most of all traffic, and filter
/// changes that would cut deliveries. Only removing a pattern that repeats another, or that
/// another of the subscription's patterns covers, is safe to apply: it changes nothing the
/// subscription receives. A pattern that never matched is reported, never removed: the
/// events it waits for (`*.failed`) may be rare, not impossible.
public struct SubscriptionAdvice: Sendable, Equatable {
    /// Events looked at: the subscription's own counters plus the sample.
    public var examined: Int
    /// Matches per pattern over the same events.
    public var matchesByPattern: [String: Int]
    /// Patterns with no match so far (advice only).
    public var neverMatched: [String]
    /// Patterns that repeat an earlier one (safe to remove).
    public var duplicates: [String]
    /// Patterns another of the subscription's patterns covers (safe to remove).
    public var covered: [String]
    /// Patterns matching more than half of all events looked at.
    public var broad: [String]
    /// Filter changes that would cut deliveries, with how many of the sample's selected events each cuts.
    public var filterSuggestions: [FilterSuggestion]

    public struct FilterSuggestion: Sendable, Equatable {
        public var filters: JSONValue
        public var reason: String
        public var wouldCut: Int
        public var ofSelected: Int
    }

    /// The share above which a pattern is reported as broad.
    public static let broadShare = 0.5

    /// Advice from the subscription's counters and a sample of recent events (those after
    /// what the counters have counted are added; the sample covers recent traffic either way).
    /// The counters reach past the cursor once a pull read events it did not acknowledge
    /// (`examined_through`): counting from the cursor counted those events twice.
    public static func compute(
        _ subscription: Subscription, sample: [HubEvent], goal: OptimizationGoal? = nil
    ) -> SubscriptionAdvice {
        let compiled = subscription.compiledPatterns
        var matches = subscription.counters.matchedByPattern
        var examined = subscription.counters.examined
        let counted = max(subscription.cursor, subscription.counters.examinedThrough)
        var selected: [HubEvent] = []
        for event in sample where event.sequence > counted {
            examined += 1
            for text in Set(compiled.filter { $0.matches(event.subject) }.map(\.text)) {
                matches[text, default: 0] += 1
            }
            if subscription.selects(event, compiled: compiled) { selected.append(event) }
        }
        // Events in the sample counted already still count for filter advice.
        for event in sample where event.sequence <= counted {
            if subscription.selects(event, compiled: compiled) { selected.append(event) }
        }
        var unique: [String] = []
        var duplicates: [String] = []
        for text in subscription.patterns {
            if unique.contains(text) { duplicates.append(text) } else { unique.append(text) }
        }
        let never = examined == 0 ? [] : unique.filter { (matches[$0] ?? 0) == 0 }
        let covered = Self.covered(compiled)
        let broad =
            examined == 0 ? [] : unique.filter { Double(matches[$0] ?? 0) / Double(examined) > broadShare }
        var suggestions: [FilterSuggestion] = []
        if (goal ?? subscription.optimizationGoal) != .completeness, !selected.isEmpty {
            let info = selected.filter { $0.severity == .info }.count
            if info > 0 && info < selected.count && subscription.filter.severities.isEmpty {
                suggestions.append(
                    FilterSuggestion(
                        filters: ["severity": ["warning", "error", "critical"]],
                        reason: "info-level events are \(info) of the \(selected.count) recent events it selects",
                        wouldCut: info, ofSelected: selected.count))
            }
            var byType: [String: Int] = [:]
            for event in selected { byType[event.eventType, default: 0] += 1 }
            if let (type, count) = byType.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }),
                byType.count > 1, Double(count) / Double(selected.count) > broadShare,
                subscription.filter.eventTypes.isEmpty
            {
                let others = byType.keys.filter { $0 != type }.sorted()
                suggestions.append(
                    FilterSuggestion(
                        filters: ["event_type": .strings(others)],
                        reason: "\(type) is \(count) of the \(selected.count) recent events it selects",
                        wouldCut: count, ofSelected: selected.count))
            }
        }
        return SubscriptionAdvice(
            examined: examined, matchesByPattern: matches, neverMatched: never, duplicates: duplicates,
            covered: covered, broad: broad, filterSuggestions: suggestions)
    }

    /// The patterns (by text, in order) another pattern covers; of two that cover each other
    /// (`failed` and `#.failed`) the later one.
    static func covered(_ patterns: [SubjectPattern]) -> [String] {
        var out: [String] = []
        for (i, p) in patterns.enumerated() where !out.contains(p.text) {
            let coveredBy = patterns.enumerated().contains { j, q in
                q.text != p.text && q.covers(p) && (!p.covers(q) || j < i)
            }
            if coveredBy { out.append(p.text) }
        }
        return out
    }

    /// The subscription with the safe advice applied: duplicates and covered patterns
    /// removed. What it receives stays the same, so one pattern always stays.
    public func applySafe(to subscription: Subscription) -> (Subscription, removed: [String]) {
        var s = subscription
        var kept: [String] = []
        var removed: [String] = []
        for text in s.patterns {
            if kept.contains(text) || covered.contains(text) {
                removed.append(text)
            } else {
                kept.append(text)
            }
        }
        if kept.isEmpty, let first = s.patterns.first {
            kept = [first]
            removed.removeAll { $0 == first }
        }
        s.patterns = kept
        for text in removed where !kept.contains(text) { s.counters.matchedByPattern[text] = nil }
        return (s, removed)
    }

    public var json: JSONValue {
        var matched: JSONValue = .emptyObject
        for key in matchesByPattern.keys.sorted() { matched[key] = .count(matchesByPattern[key] ?? 0) }
        return [
            "events_examined": .count(examined), "matches_by_pattern": matched,
            "never_matched": .strings(neverMatched), "duplicate_patterns": .strings(duplicates),
            "covered_patterns": .strings(covered),
            "broad_patterns": .strings(broad),
            "filter_suggestions": .array(
                filterSuggestions.map {
                    [
                        "filters": $0.filters, "reason": .string($0.reason), "would_cut": .count($0.wouldCut),
                        "of_selected": .count($0.ofSelected),
                    ]
                }),
        ]
    }
}

extension EventFilter {
    /// `{"severity": [...], "workflow_id": [...], "event_type": [...]}`, empty lists left out.
    public var json: JSONValue {
        var out: JSONValue = .emptyObject
        if !severities.isEmpty { out["severity"] = .strings(severities.map(\.rawValue)) }
        if !workflowIDs.isEmpty { out["workflow_id"] = .strings(workflowIDs) }
        if !eventTypes.isEmpty { out["event_type"] = .strings(eventTypes) }
        return out
    }

    /// Reads the form ``json`` writes; a single string stands for a list of one.
    public init(json: JSONValue) {
        func list(_ key: String) -> [String] {
            guard let value = json[key] else { return [] }
            if let one = value.stringValue { return [one] }
            return value.arrayValue?.compactMap(\.stringValue) ?? []
        }
        self.init(
            severities: list("severity").compactMap(Severity.init(rawValue:)), workflowIDs: list("workflow_id"),
            eventTypes: list("event_type"))
    }
}

extension RetryPolicy {
    /// `{"max_retries", "backoff_strategy", "initial_delay"}`.
    public var json: JSONValue {
        [
            "max_retries": .count(maxRetries), "backoff_strategy": .string(backoff.rawValue),
            "initial_delay": .string(initialDelay.description),
        ]
    }

    /// Reads the form ``json`` writes; missing parts take the standard policy's values.
    public init(json: JSONValue) {
        let standard = RetryPolicy.standard
        self.init(
            maxRetries: json["max_retries"]?.intValue.map { Int(clamping: $0) } ?? standard.maxRetries,
            backoff: json["backoff_strategy"]?.stringValue.flatMap(Backoff.init(rawValue:)) ?? standard.backoff,
            initialDelay: json["initial_delay"]?.stringValue.flatMap(HubDuration.init(parsing:))
                ?? standard.initialDelay)
    }
}

extension SubscriptionCounters {
    /// The counters as stored and as reported.
    public var json: JSONValue {
        var matched: JSONValue = .emptyObject
        for key in matchedByPattern.keys.sorted() { matched[key] = .count(matchedByPattern[key] ?? 0) }
        return [
            "examined": .count(examined), "matched_by_pattern": matched, "filtered": .count(filtered),
            "delivered": .count(delivered), "retried": .count(retried), "dead_lettered": .count(deadLettered),
            "acked": .count(acked), "delivered_through": .int(deliveredThrough),
            "examined_through": .int(examinedThrough),
        ]
    }

    /// Reads the form ``json`` writes; missing counters read as zero.
    public init(json: JSONValue) {
        func n(_ key: String) -> Int { Int(clamping: json[key]?.intValue ?? 0) }
        var matched: [String: Int] = [:]
        for (key, value) in json["matched_by_pattern"]?.objectValue ?? [:] {
            matched[key] = Int(clamping: value.intValue ?? 0)
        }
        self.init(
            matchedByPattern: matched, filtered: n("filtered"), delivered: n("delivered"), retried: n("retried"),
            deadLettered: n("dead_lettered"), acked: n("acked"), examined: n("examined"),
            deliveredThrough: json["delivered_through"]?.intValue ?? 0)
        examinedThrough = json["examined_through"]?.intValue ?? 0
    }
}

extension Subscription {
    /// The subscription as the API shows it: never the secret, only whether there is one.
    public var json: JSONValue {
        var out: JSONValue = [
            "subscription_id": .string(id), "callback": .string(callback), "patterns": .strings(patterns),
            "filters": filter.json, "delivery": .string(delivery.rawValue), "webhook_url": .optional(webhookURL),
            "has_secret": .bool(secret != nil), "retry_policy": retryPolicy.json, "cursor": .int(cursor),
            "enable_smart_filtering": .bool(smartFiltering), "enable_adaptive_filtering": .bool(adaptiveFiltering),
            "optimization_goal": .string(optimizationGoal.rawValue),
            "created_at": .string(Timestamp.format(milliseconds: createdAt)),
        ]
        if smartFiltering {
            out["counters"] = counters.json
            out["advice"] = SubscriptionAdvice.compute(self, sample: []).json
        }
        if let replayEnd {
            out["replay"] = ["through_sequence": .int(replayEnd), "then_resume_after": .optional(resumeAt)]
        }
        if let replayNarrowing {
            var replay = out["replay"] ?? .emptyObject
            replay["workflow_id"] = .string(replayNarrowing.workflowID)
            replay["narrowed_through_sequence"] = .int(replayNarrowing.through)
            out["replay"] = replay
        }
        return out
    }
}

extension DeadLetter {
    /// The dead letter as `get-events` shows it.
    public var json: JSONValue {
        [
            "subscription_id": .string(subscriptionID), "sequence": .int(sequence), "event_id": .string(eventID),
            "attempts": .count(attempts), "last_error": .string(lastError),
            "dead_lettered_at": .string(Timestamp.format(milliseconds: at)),
        ]
    }
}

import HubCore
import HubStore

/// `subscribe-event`: a durable consumer of the event log (§10).
enum SubscribeEvent {
    struct Filters: Decodable, Sendable {
        var severity: GetEvents.OneOrMany?
        var workflowId: GetEvents.OneOrMany?
        var eventType: GetEvents.OneOrMany?
    }

    struct RetryInput: Decodable, Sendable {
        var maxRetries: Int?
        var backoffStrategy: RetryPolicy.Backoff?
        var initialDelay: String?
    }

    /// `"new"`, `"all"`, `{"sequence": N}` or `{"time": "<RFC 3339>"}`.
    enum StartFrom: Decodable, Sendable {
        case new, all
        case sequence(Int64)
        case time(String)

        private enum Keys: String, CodingKey { case sequence, time }

        init(from decoder: any Decoder) throws {
            if let word = try? decoder.singleValueContainer().decode(String.self) {
                switch word {
                case "new": self = .new
                case "all": self = .all
                default:
                    throw HubError.parameter(
                        "start_from", "must be \"new\", \"all\", {\"sequence\": N} or {\"time\": \"…\"}")
                }
                return
            }
            let c = try decoder.container(keyedBy: Keys.self)
            if let n = try c.decodeIfPresent(Int64.self, forKey: .sequence) {
                self = .sequence(n)
            } else if let t = try c.decodeIfPresent(String.self, forKey: .time) {
                self = .time(t)
            } else {
                throw HubError.parameter("start_from", "needs \"sequence\" or \"time\"")
            }
        }
    }

    struct Parameters: OperationParameters {
        var patterns: [String]
        var filters: Filters?
        var delivery: DeliveryMethod?
        var callback: String?
        var webhookUrl: String?
        var secret: String?
        var retryPolicy: RetryInput?
        var startFrom: StartFrom?
        var enableSmartFiltering: Bool?
        var optimizationGoal: OptimizationGoal?

        static let severities = Severity.allCases.map(\.rawValue)
        static func oneOrMany(_ item: Schema, _ summary: String) -> Schema {
            .anyOf([item, .array(item, maxItems: 100)], summary)
        }

        static let schema = Schema.object([
            .init(
                "patterns",
                .array(
                    .string(maxLength: SubjectPattern.maximumLength),
                    "Subject patterns: '*' one segment, '#' zero or more; without '#' a pattern matches the end of the subject.",
                    minItems: 1, maxItems: 100), required: true),
            .init(
                "filters",
                .object([
                    .init("severity", oneOrMany(.oneOf(severities), "Only these severities.")),
                    .init("workflow_id", oneOrMany(.id(), "Only these workflows' events.")),
                    .init("event_type", oneOrMany(.string(maxLength: 64), "Only these event types.")),
                ])),
            .init("delivery", .oneOf(DeliveryMethod.allCases.map(\.rawValue), "realtime (default), batch or webhook.")),
            .init(
                "callback",
                .id(
                    "The subscriber's unique name; defaults to the subscription id. Subscribing again under it replaces that subscription's definition with the one given (patterns, filters, delivery, webhook_url, secret, retry_policy: what is left out goes back to its default) and keeps its cursor and counters (start_from is then ignored)."
                )),
            .init(
                "webhook_url",
                .string("Where webhook delivery POSTs; its host must be in webhook_allowlist.", maxLength: 2048)),
            .init("secret", .string("Key of the X-Hub-Signature-256 HMAC.", maxLength: 512)),
            .init(
                "retry_policy",
                .object([
                    .init("max_retries", .integer("Retries before dead-lettering. Defaults to 3.", min: 0, max: 100)),
                    .init(
                        "backoff_strategy",
                        .oneOf(RetryPolicy.Backoff.allCases.map(\.rawValue), "Defaults to exponential.")),
                    .init("initial_delay", .duration("Defaults to 1s.")),
                ])),
            .init(
                "start_from",
                .anyOf(
                    [
                        .oneOf(["new", "all"]),
                        .object([.init("sequence", .integer(min: 1))]),
                        .object([.init("time", .dateTime())]),
                    ],
                    "\"new\" (default), \"all\", {\"sequence\": N} (at most the next sequence) or {\"time\": \"<RFC 3339>\"} (not in the future)."
                )),
            .init(
                "enable_smart_filtering", .boolean("Keep per-pattern counters and report advice with the subscription.")
            ),
            .init(
                "optimization_goal",
                .oneOf(OptimizationGoal.allCases.map(\.rawValue), "efficiency (default), latency or completeness.")),
        ])
    }

    static let descriptor = OperationDescriptor(
        "subscribe-event", scope: .hub, mutating: false, parameters: Parameters.self,
        summary: "Subscribe to events by subject pattern: a durable consumer with a cursor that survives restarts.",
        discussion: """
            Every matching event is delivered at least once, in sequence order: read them with \
            get-events '{"subscription": …}' and acknowledge with ack: true or ack-events. With a workflow id the \
            subscription only sees that workflow's events.
            """,
        example: """
            coordination-hub subscribe-event '{"patterns": ["workflow.*.phase_completed", "*.failed"], "filters": {"severity": ["error", "critical"]}, "callback": "ci-watcher", "start_from": "all"}'
            """,
        workflowID:
            "Only this workflow's events reach the subscription: the same as filters.workflow_id naming it (a filter naming other workflows is refused).",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let subscription = try make(p, context: context)
        let startFrom = p.startFrom ?? .new
        let callback = p.callback
        let now = context.now
        let (created, updated) = try await context.store.write { [subscription] tx -> (Subscription, Bool) in
            var s = subscription
            if callback != nil, let updated = try updateExisting(s, in: tx) { return (updated, true) }
            switch startFrom {
            case .new: s.cursor = try tx.lastEventSequence()
            case .all: s.cursor = 0
            case .sequence(let n):
                // Past the next sequence the cursor would skip events not yet published (ack-events' rule).
                let newest = try tx.lastEventSequence()
                guard n <= newest + 1 else {
                    throw HubError.parameter(
                        "start_from.sequence", "is \(n), past the newest event (\(newest))",
                        suggestions: ["Start from at most \(newest + 1), or use \"new\""])
                }
                s.cursor = max(0, n - 1)
            case .time(let text):
                guard let time = Timestamp.parseMilliseconds(text) else {
                    throw HubError.parameter("start_from.time", "is not an RFC 3339 time")
                }
                // As a sequence past the newest is refused: the subscription would start at the
                // newest event, not at that time, and deliver what is published before it.
                guard time <= now else {
                    throw HubError.parameter(
                        "start_from.time", "is \(text.prefix(64)), in the future",
                        suggestions: ["Use \"new\" for the events published from now on, or a time not after now"])
                }
                s.cursor = try tx.firstSequence(atOrAfter: time).map { $0 - 1 } ?? tx.lastEventSequence()
            }
            try tx.insert(s)
            return (s, false)
        }
        return OperationOutcome(
            result: ["subscription_id": .string(created.id), "updated": .bool(updated), "subscription": created.json],
            nextSteps: [
                "Read its events: coordination-hub get-events '{\"subscription\": \"\(created.callback)\", \"ack\": true}'"
            ])
    }

    /// Subscribing again under a callback name updates that subscription and keeps its
    /// cursor, its place in a replay and its counters (§17): a consumer re-subscribes on every
    /// start without losing or repeating events. Answers the updated subscription, or `nil`
    /// when no subscription has `s`'s callback (a new one is stored then).
    ///
    /// `widening` (a handoff: one orchestrator's subscription for each workflow it hands
    /// over) names what the new subscription was given: it keeps what the subscription
    /// matched and adds what `s` matches, instead of replacing it, and keeps every setting
    /// `widening` does not give (delivery, webhook, secret, retry policy, the severity and
    /// event type filters): they are the orchestrator's, not the workflow's, and a second
    /// handoff turned a webhook subscription into a realtime one and dropped its filters.
    ///
    /// `workflow` is the workflow `s` is narrowed to. A subscription without a workflow filter
    /// sees every workflow, and adding the workflow to its filter leaves it seeing them all: the
    /// added patterns matched every workflow's events. They are rewritten to name the
    /// workflow's subjects instead (`*.started` becomes `workflow.<id>.started`).
    static func updateExisting(
        _ s: Subscription, in tx: any StoreWriter, widening given: Parameters? = nil, workflow: String? = nil
    ) throws -> Subscription? {
        guard s.callback != s.id, var existing = try tx.subscription(s.callback), existing.callback == s.callback
        else { return nil }
        guard let given else {
            existing.patterns = s.patterns
            existing.filter = s.filter
            existing.delivery = s.delivery
            existing.webhookURL = s.webhookURL
            existing.secret = s.secret
            existing.retryPolicy = s.retryPolicy
            existing.smartFiltering = s.smartFiltering
            existing.optimizationGoal = s.optimizationGoal
            return try store(existing, in: tx)
        }
        var patterns = s.patterns
        if existing.filter.workflowIDs.isEmpty, let workflow {
            patterns = s.compiledPatterns.flatMap { $0.narrowed(toWorkflow: workflow) }
        }
        for pattern in patterns where !existing.patterns.contains(pattern) { existing.patterns.append(pattern) }
        var added = s.filter
        if given.filters?.severity == nil { added.severities = existing.filter.severities }
        if given.filters?.eventType == nil { added.eventTypes = existing.filter.eventTypes }
        existing.filter = existing.filter.widened(by: added)
        if given.delivery != nil || given.webhookUrl != nil {
            existing.delivery = s.delivery
            existing.webhookURL = s.webhookURL
        }
        if given.secret != nil { existing.secret = s.secret }
        if given.retryPolicy != nil { existing.retryPolicy = s.retryPolicy }
        if given.enableSmartFiltering != nil { existing.smartFiltering = s.smartFiltering }
        if given.optimizationGoal != nil { existing.optimizationGoal = s.optimizationGoal }
        return try store(existing, in: tx)
    }

    private static func store(_ subscription: Subscription, in tx: any StoreWriter) throws -> Subscription {
        var updated = subscription
        if updated.adaptiveFiltering {
            // The safe changes, kept applied to the new patterns (optimize-subscriptions).
            updated = SubscriptionAdvice.compute(updated, sample: []).applySafe(to: updated).0
        }
        try tx.update(updated)
        return updated
    }

    static func make(_ p: Parameters, context: OperationContext) throws(HubError) -> Subscription {
        for (n, text) in p.patterns.enumerated() { _ = try SubjectPattern(text, field: "patterns[\(n)]") }
        try PublishEvent.checkEventTypes(p.filters?.eventType?.values ?? [], field: "filters.event_type")
        var filter = EventFilter(
            severities: (p.filters?.severity?.values ?? []).compactMap(Severity.init(rawValue:)),
            workflowIDs: p.filters?.workflowId?.values ?? [], eventTypes: p.filters?.eventType?.values ?? [])
        if let workflowID = context.workflowID {
            if !filter.workflowIDs.isEmpty && filter.workflowIDs != [workflowID] {
                throw HubError.parameter(
                    "filters.workflow_id", "names other workflows than \(workflowID), the one the call names")
            }
            filter.workflowIDs = [workflowID]
        }
        let delivery = p.delivery ?? (p.webhookUrl == nil ? .realtime : .webhook)
        if delivery == .webhook {
            guard let url = p.webhookUrl else {
                throw HubError.parameter("webhook_url", "is required for webhook delivery")
            }
            // Checked now and again at each delivery, since the configuration can change (§10).
            try WebhookAllowlist(configuration: context.hub.configuration).check(url)
        } else if p.webhookUrl != nil {
            throw HubError.parameter("webhook_url", "is only used with delivery \"webhook\"")
        }
        var retry = RetryPolicy.standard
        if let r = p.retryPolicy {
            if let n = r.maxRetries { retry.maxRetries = n }
            if let b = r.backoffStrategy { retry.backoff = b }
            if let text = r.initialDelay {
                guard let d = HubDuration(parsing: text) else {
                    throw HubError.parameter("retry_policy.initial_delay", "is not a duration such as 1s or 500ms")
                }
                retry.initialDelay = d
            }
        }
        let id = context.hub.ids.make("sub")
        return Subscription(
            id: id, callback: p.callback ?? id, patterns: p.patterns, filter: filter, delivery: delivery,
            webhookURL: p.webhookUrl, secret: p.secret, retryPolicy: retry,
            smartFiltering: p.enableSmartFiltering ?? false, optimizationGoal: p.optimizationGoal ?? .efficiency,
            createdAt: context.now)
    }
}

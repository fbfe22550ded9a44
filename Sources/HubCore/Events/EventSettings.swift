/// How delivery batches events of one type (§10 `configure-batching`).
public struct BatchingRule: Sendable, Equatable {
    public enum Size: Sendable, Equatable {
        case fixed(Int)
        /// Grows with the queue's depth between 5 and 100.
        case adaptive
    }

    public var enabled: Bool
    public var size: Size
    public var timeout: HubDuration
    public var compression: Bool
    public var deduplication: Bool

    public static let standard = BatchingRule(
        enabled: true, size: .fixed(10), timeout: .seconds(1), compression: false, deduplication: false)

    public init(enabled: Bool, size: Size, timeout: HubDuration, compression: Bool, deduplication: Bool) {
        self.enabled = enabled
        self.size = size
        self.timeout = timeout
        self.compression = compression
        self.deduplication = deduplication
    }

    /// The batch size to use with `queueDepth` events waiting.
    public func batchSize(queueDepth: Int) -> Int {
        guard enabled else { return 1 }
        switch size {
        case .fixed(let n): return max(1, n)
        case .adaptive: return min(100, max(5, queueDepth))
        }
    }

    public var json: JSONValue {
        let size: JSONValue
        switch self.size {
        case .fixed(let n): size = .count(n)
        case .adaptive: size = "adaptive"
        }
        return [
            "enabled": .bool(enabled), "batch_size": size, "batch_timeout": .string(timeout.description),
            "compression_enabled": .bool(compression), "deduplication_enabled": .bool(deduplication),
        ]
    }

    /// Reads the form ``json`` writes; missing parts come from `base`.
    public init(json: JSONValue, base: BatchingRule = .standard) {
        self = base
        if let enabled = json["enabled"]?.boolValue { self.enabled = enabled }
        if json["batch_size"]?.stringValue == "adaptive" {
            size = .adaptive
        } else if let n = json["batch_size"]?.intValue {
            size = .fixed(Int(clamping: n))
        }
        if let t = json["batch_timeout"]?.stringValue.flatMap(HubDuration.init(parsing:)) { timeout = t }
        if let c = json["compression_enabled"]?.boolValue { compression = c }
        if let d = json["deduplication_enabled"]?.boolValue { deduplication = d }
    }
}

/// Batching for all event types, with per-type overrides, and per-workflow overrides of
/// the whole (§17: `configure-batching` with a workflow id).
public struct BatchingSettings: Sendable, Equatable {
    public var defaults: BatchingRule
    public var byType: [String: BatchingRule]
    /// A workflow's own settings as given: only the fields its calls set, `{"default": {…},
    /// "event_types": {type: {…}}}`; every other field follows the hub-wide settings, also
    /// when those change later.
    public var byWorkflow: [String: JSONValue]

    public init(
        defaults: BatchingRule = .standard, byType: [String: BatchingRule] = [:],
        byWorkflow: [String: JSONValue] = [:]
    ) {
        self.defaults = defaults
        self.byType = byType
        self.byWorkflow = byWorkflow
    }

    /// The hub-wide rule for a type.
    public func rule(for eventType: String) -> BatchingRule { byType[eventType] ?? defaults }

    /// The rule for a type of a workflow's events: the hub-wide rule with the workflow's own
    /// default fields over it, and its own fields for the type over those.
    public func rule(for eventType: String, workflowID: String?) -> BatchingRule {
        let hubWide = rule(for: eventType)
        guard let workflowID, let own = byWorkflow[workflowID] else { return hubWide }
        let base = BatchingRule(json: own["default"] ?? .emptyObject, base: hubWide)
        return BatchingRule(json: own["event_types"]?[eventType] ?? .emptyObject, base: base)
    }

    /// The rule for an event.
    public func rule(for event: HubEvent) -> BatchingRule { rule(for: event.eventType, workflowID: event.workflowID) }

    /// The settings in force for a workflow's events.
    public func effective(for workflowID: String) -> BatchingSettings {
        let own = byWorkflow[workflowID] ?? .emptyObject
        var types: [String: BatchingRule] = [:]
        let ownTypes = (own["event_types"]?.objectValue).map { Array($0.keys) } ?? []
        for type in Set(byType.keys).union(ownTypes) {
            types[type] = rule(for: type, workflowID: workflowID)
        }
        return BatchingSettings(
            defaults: BatchingRule(json: own["default"] ?? .emptyObject, base: defaults), byType: types)
    }

    /// Sets `fields` (a partial rule) in a workflow's own settings, for `eventTypes` or its default.
    public mutating func override(_ workflowID: String, eventTypes: [String], with fields: JSONValue) {
        var own = byWorkflow[workflowID] ?? .emptyObject
        func merged(_ old: JSONValue?) -> JSONValue {
            var out = old ?? .emptyObject
            for (key, value) in fields.objectValue ?? [:] { out[key] = value }
            return out
        }
        if eventTypes.isEmpty {
            own["default"] = merged(own["default"])
        } else {
            var types = own["event_types"] ?? .emptyObject
            for type in eventTypes { types[type] = merged(types[type]) }
            own["event_types"] = types
        }
        byWorkflow[workflowID] = own
    }

    /// Drops a workflow's own settings for `eventTypes`, or all of them when none are named.
    public mutating func removeOverrides(_ workflowID: String, eventTypes: [String]) {
        guard !eventTypes.isEmpty, var own = byWorkflow[workflowID] else {
            byWorkflow[workflowID] = nil
            return
        }
        var types = own["event_types"]?.objectValue ?? [:]
        for type in eventTypes { types[type] = nil }
        own["event_types"] = types.isEmpty ? nil : .object(types)
        byWorkflow[workflowID] = own.objectValue?.isEmpty == true ? nil : own
    }

    public var json: JSONValue {
        var types: JSONValue = .emptyObject
        for name in byType.keys.sorted() { types[name] = byType[name]?.json ?? .null }
        var out: JSONValue = ["default": defaults.json, "event_types": types]
        if !byWorkflow.isEmpty {
            var workflows: JSONValue = .emptyObject
            for id in byWorkflow.keys.sorted() { workflows[id] = byWorkflow[id] ?? .emptyObject }
            out["workflows"] = workflows
        }
        return out
    }

    public init(json: JSONValue) {
        let defaults = BatchingRule(json: json["default"] ?? .emptyObject)
        var byType: [String: BatchingRule] = [:]
        for (name, rule) in json["event_types"]?.objectValue ?? [:] {
            byType[name] = BatchingRule(json: rule, base: defaults)
        }
        var byWorkflow: [String: JSONValue] = [:]
        for (id, own) in json["workflows"]?.objectValue ?? [:] where own.objectValue != nil { byWorkflow[id] = own }
        self.init(defaults: defaults, byType: byType, byWorkflow: byWorkflow)
    }
}

/// Delivery concurrency and order (§10 `enable-async-processing`).
public struct AsyncProcessing: Sendable, Equatable {
    public enum PriorityScheme: String, Sendable, CaseIterable, Codable { case weighted, strict, fifo }
    public enum Mode: String, Sendable, CaseIterable, Codable { case balanced, throughput, latency }

    public var enabled: Bool
    public var poolSize: Int
    public var priorityScheme: PriorityScheme
    public var autoScaling: Bool
    public var mode: Mode

    public static let standard = AsyncProcessing(
        enabled: false, poolSize: 4, priorityScheme: .fifo, autoScaling: false, mode: .balanced)

    public init(enabled: Bool, poolSize: Int, priorityScheme: PriorityScheme, autoScaling: Bool, mode: Mode) {
        self.enabled = enabled
        self.poolSize = poolSize
        self.priorityScheme = priorityScheme
        self.autoScaling = autoScaling
        self.mode = mode
    }

    public var json: JSONValue {
        [
            "enabled": .bool(enabled), "processing_pool_size": .count(poolSize),
            "priority_scheme": .string(priorityScheme.rawValue), "auto_scaling": .bool(autoScaling),
            "optimization_mode": .string(mode.rawValue),
        ]
    }

    public init(json: JSONValue) {
        let s = AsyncProcessing.standard
        self.init(
            enabled: json["enabled"]?.boolValue ?? s.enabled,
            poolSize: json["processing_pool_size"]?.intValue.map { Int(clamping: $0) } ?? s.poolSize,
            priorityScheme: json["priority_scheme"]?.stringValue.flatMap(PriorityScheme.init(rawValue:))
                ?? s.priorityScheme,
            autoScaling: json["auto_scaling"]?.boolValue ?? s.autoScaling,
            mode: json["optimization_mode"]?.stringValue.flatMap(Mode.init(rawValue:)) ?? s.mode)
    }
}

/// What the log keeps and for how long (§10 `configure-persistence`).
public struct PersistencePolicy: Sendable, Equatable {
    public enum Policy: String, Sendable, CaseIterable, Codable {
        case all
        /// Lifecycle events and severity ≥ warning for the whole retention; other info events 24h.
        case selectiveCritical = "selective_critical"
    }
    public enum Replay: String, Sendable, CaseIterable, Codable {
        case full
        /// An event goes once every subscription has acknowledged it.
        case acknowledgedOnly = "acknowledged_only"
    }

    public var policy: Policy
    public var retention: HubDuration
    /// Whether `retention` was set by `configure-persistence`; otherwise it is the
    /// configuration's `event_retention`, read anew each time (§14: the configuration,
    /// environment and flags override the defaults, also after the hub has run).
    public var retentionIsSet = false
    public var compression: Bool
    public var replay: Replay
    /// When retention last ran (milliseconds since 1970).
    public var lastEnforcedAt: Int64?
    /// Events the last run removed.
    public var lastRemoved: Int?
    /// Compression has looked at every event through this sequence.
    public var compressedThrough: Int64 = 0
    /// Events whose data was compressed, and their bytes before and after, in all.
    public var compressedEvents: Int = 0
    public var compressedBytesBefore: Int64 = 0
    public var compressedBytesAfter: Int64 = 0
    /// Workflows' own retention as given (§17: `configure-persistence` with a workflow id):
    /// only the fields their calls set (`persistence_policy`, `retention_period`,
    /// `replay_capabilities`, `compression_enabled`); the others follow the hub-wide policy,
    /// also when it changes.
    public var byWorkflow: [String: JSONValue] = [:]

    /// The retention a workflow's events follow.
    public struct WorkflowRetention: Sendable, Equatable {
        public var policy: Policy
        public var retention: HubDuration
        public var replay: Replay
        public var compression: Bool

        public init(policy: Policy, retention: HubDuration, replay: Replay, compression: Bool) {
            self.policy = policy
            self.retention = retention
            self.replay = replay
            self.compression = compression
        }

        public var json: JSONValue {
            [
                "persistence_policy": .string(policy.rawValue), "retention_period": .string(retention.description),
                "replay_capabilities": .string(replay.rawValue), "compression_enabled": .bool(compression),
            ]
        }
    }

    /// The retention a workflow's events follow: its own fields over the hub-wide ones.
    public func retention(of workflowID: String?) -> WorkflowRetention {
        let own = workflowID.flatMap { byWorkflow[$0] } ?? .emptyObject
        return WorkflowRetention(
            policy: own["persistence_policy"]?.stringValue.flatMap(Policy.init(rawValue:)) ?? policy,
            retention: own["retention_period"]?.stringValue.flatMap(HubDuration.init(parsing:)) ?? retention,
            replay: own["replay_capabilities"]?.stringValue.flatMap(Replay.init(rawValue:)) ?? replay,
            compression: own["compression_enabled"]?.boolValue ?? compression)
    }

    public static let standard = PersistencePolicy(
        policy: .all, retention: .days(7), compression: false, replay: .full, lastEnforcedAt: nil)
    /// How often retention is due.
    public static let enforcementInterval = HubDuration.hours(1)
    /// How long `selective_critical` keeps info-level progress events.
    public static let progressRetention = HubDuration.hours(24)
    /// Events older than this have their data compressed when compression is on.
    public static let compressAfter = HubDuration.hours(24)
    /// Lifecycle event types, which `selective_critical` keeps for the whole retention.
    public static let lifecycleTypes = [
        "created", "started", "paused", "resumed", "completed", "failed", "cancelled", "archived", "timed_out",
        "phase_started", "phase_completed", "phase_failed", "registered", "deregistered", "recovered",
        "checkpoint_created", "state_restored", "state_rolled_back", "budget_exhausted",
    ]

    public init(policy: Policy, retention: HubDuration, compression: Bool, replay: Replay, lastEnforcedAt: Int64?) {
        self.policy = policy
        self.retention = retention
        self.compression = compression
        self.replay = replay
        self.lastEnforcedAt = lastEnforcedAt
    }

    /// Whether retention should run at `now`.
    public func isDue(now: Int64) -> Bool {
        guard let last = lastEnforcedAt else { return true }
        return now - last >= Self.enforcementInterval.milliseconds
    }

    public var json: JSONValue {
        var out: JSONValue = [
            "persistence_policy": .string(policy.rawValue), "retention_period": .string(retention.description),
            "compression_enabled": .bool(compression), "replay_capabilities": .string(replay.rawValue),
            "last_enforced_at": lastEnforcedAt.map { .string(Timestamp.format(milliseconds: $0)) } ?? .null,
            "last_removed": .optional(lastRemoved), "compressed_through_sequence": .int(compressedThrough),
            "compressed_events": .count(compressedEvents), "compressed_bytes_before": .int(compressedBytesBefore),
            "compressed_bytes_after": .int(compressedBytesAfter),
        ]
        if !byWorkflow.isEmpty {
            var workflows: JSONValue = .emptyObject
            for id in byWorkflow.keys.sorted() { workflows[id] = retention(of: id).json }
            out["workflows"] = workflows
        }
        return out
    }

    /// The stored form: ``json`` with each workflow's own fields only (``json`` shows the
    /// retention in force for each).
    public var storedJSON: JSONValue {
        var out = json
        // A period that follows the configuration is not stored: the configuration's next value applies.
        if retentionIsSet { out["retention_set"] = true } else { out["retention_period"] = nil }
        if !byWorkflow.isEmpty {
            var workflows: JSONValue = .emptyObject
            for id in byWorkflow.keys.sorted() { workflows[id] = byWorkflow[id] ?? .emptyObject }
            out["workflows"] = workflows
        }
        return out
    }

    /// Reads the form ``storedJSON`` writes. The period is the one `configure-persistence` set,
    /// else `defaultRetention` (the configuration's `event_retention`). Stores written before
    /// the two were told apart kept whichever applied at their last write: a kept period longer
    /// than the configuration's counts as set, so a change of either never removes events the
    /// other would keep.
    public init(json: JSONValue, defaultRetention: HubDuration = PersistencePolicy.standard.retention) {
        let s = PersistencePolicy.standard
        let stored = json["retention_period"]?.stringValue.flatMap(HubDuration.init(parsing:))
        let isSet =
            json["retention_set"]?.boolValue == true
            || json["retention_set"] == nil && stored.map { $0 > defaultRetention } == true
        self.init(
            policy: json["persistence_policy"]?.stringValue.flatMap(Policy.init(rawValue:)) ?? s.policy,
            retention: isSet ? stored ?? defaultRetention : defaultRetention,
            compression: json["compression_enabled"]?.boolValue ?? s.compression,
            replay: json["replay_capabilities"]?.stringValue.flatMap(Replay.init(rawValue:)) ?? s.replay,
            lastEnforcedAt: json["last_enforced_at"]?.stringValue.flatMap(Timestamp.parseMilliseconds))
        retentionIsSet = isSet
        lastRemoved = json["last_removed"]?.intValue.map { Int(clamping: $0) }
        compressedThrough = json["compressed_through_sequence"]?.intValue ?? 0
        compressedEvents = Int(clamping: json["compressed_events"]?.intValue ?? 0)
        compressedBytesBefore = json["compressed_bytes_before"]?.intValue ?? 0
        compressedBytesAfter = json["compressed_bytes_after"]?.intValue ?? 0
        for (id, own) in json["workflows"]?.objectValue ?? [:] where own.objectValue != nil { byWorkflow[id] = own }
    }
}

/// The keys under which the store keeps these settings.
public enum EventSettingKey {
    public static let batching = "batching"
    public static let asyncProcessing = "async_processing"
    public static let persistence = "persistence"
}

import HubCore

/// Reads of the event system (§10): single events, causation links, dedup
/// lookups, time-to-sequence lookups, subscriptions, dead letters and settings.
/// Each is an indexed lookup.
public protocol EventLogReader {
    /// The event with that `evt_…` id, or `nil`.
    func event(id: String) throws -> HubEvent?
    /// Events whose `causation_id` is one of `eventIDs`, in sequence order.
    func events(causedBy eventIDs: [String]) throws -> [HubEvent]
    /// The newest event of `workflowID` (`nil`: about no workflow) with that `dedup_id` stored
    /// at or after `since`, or `nil`. A dedup id names one thing that happened, whatever the
    /// event's type (§10); the same id in another workflow is another event.
    func event(dedupID: String, workflowID: String?, since: Int64) throws -> HubEvent?
    /// The first sequence whose timestamp is at or after `time`, or `nil` when none is.
    func firstSequence(atOrAfter time: Int64) throws -> Int64?
    /// The lowest stored sequence above `sequence`, or `nil` when none is: above the one after
    /// `sequence`, the events between were removed (sequences are given without gaps).
    func firstSequence(after sequence: Int64) throws -> Int64?
    /// The last sequence whose timestamp is at or before `time` (0 when none is).
    func lastSequence(atOrBefore time: Int64) throws -> Int64
    /// A subscription by its `sub_…` id or its callback name, or `nil`.
    func subscription(_ idOrCallback: String) throws -> Subscription?
    /// Every subscription, oldest first.
    func subscriptions() throws -> [Subscription]
    /// The subscription's dead letters after `afterSequence`, in sequence order.
    func deadLetters(subscriptionID: String, afterSequence: Int64, limit: Int) throws -> [DeadLetter]
    /// A stored setting of the event system (`batching`, `async_processing`, `persistence`, …).
    func setting(_ key: String) throws -> JSONValue?
    /// How many events are stored and the bytes of their `data`: all, or one workflow's.
    func eventVolume(of workflowID: String?) throws -> (count: Int, dataBytes: Int64)
    /// The bytes the store's database occupies on disk, its write-ahead log included.
    func storageBytes() throws -> Int64
}

/// Writes of the event system.
public protocol EventLogWriter: EventLogReader {
    /// Inserts a subscription; a taken callback name is refused with `INVALID_PARAMETERS`.
    func insert(_ subscription: Subscription) throws
    /// Replaces a stored subscription.
    func update(_ subscription: Subscription) throws
    /// Removes a subscription and its dead letters.
    func removeSubscription(_ id: String) throws
    /// Adds a dead letter (a second one for the same event and subscription replaces it).
    func insert(_ deadLetter: DeadLetter) throws
    /// Stores a setting.
    func setSetting(_ key: String, _ value: JSONValue) throws
    /// Deletes the events `rule` selects and returns how many went. An event a dead letter
    /// holds is never deleted, whatever the rule: the letter shows it until its subscription goes.
    func deleteEvents(_ rule: RetentionRule) throws -> Int
    /// Stores the `data` of up to `limit` events after `afterSequence` and older than `before`
    /// compressed; reads return it as before. Answers how far it got and the bytes saved.
    /// Only events for whose workflow (`nil`: none) `compressing` says yes are compressed; the
    /// others are passed over, and counted in `throughSequence` as looked at.
    func compressEventData(
        afterSequence: Int64, before: Int64, limit: Int, compressing: (String?) -> Bool
    ) throws -> CompressionPass
}

/// What one pass of ``EventLogWriter/compressEventData(afterSequence:before:limit:compressing:)`` did.
public struct CompressionPass: Sendable, Equatable {
    /// The last sequence looked at (`nil` when there was nothing to compress).
    public var throughSequence: Int64?
    public var events: Int
    public var bytesBefore: Int64
    public var bytesAfter: Int64

    public init(throughSequence: Int64?, events: Int, bytesBefore: Int64, bytesAfter: Int64) {
        self.throughSequence = throughSequence
        self.events = events
        self.bytesBefore = bytesBefore
        self.bytesAfter = bytesAfter
    }
}

/// Which stored events retention removes: those older than `before`, and those the
/// optional rules select (§10 `configure-persistence`). Dead-lettered events are kept by
/// every rule (see ``EventLogWriter/deleteEvents(_:)``).
public struct RetentionRule: Sendable, Equatable {
    /// Every event older than this (milliseconds since 1970) goes.
    public var before: Int64
    /// Additionally, info-level events older than this go, except those of `keptTypes`
    /// (`selective_critical`: progress and heartbeat events go after 24h, lifecycle events stay).
    public var infoBefore: Int64?
    public var keptTypes: [String]
    /// Additionally, every event at or below this sequence goes (`acknowledged_only`: the
    /// lowest cursor of all subscriptions, so no subscription loses an unacknowledged event).
    public var acknowledgedThrough: Int64?
    /// Additionally, these events go (`acknowledged_only`: events past the lowest cursor that
    /// every subscription matching them has acknowledged).
    public var acknowledgedSequences: [Int64]
    /// Only this workflow's events (a workflow's own retention), when set.
    public var workflowID: String?
    /// Not these workflows' events (they follow their own retention).
    public var exceptWorkflows: [String]

    public init(
        before: Int64, infoBefore: Int64? = nil, keptTypes: [String] = [], acknowledgedThrough: Int64? = nil,
        acknowledgedSequences: [Int64] = [], workflowID: String? = nil, exceptWorkflows: [String] = []
    ) {
        self.acknowledgedSequences = acknowledgedSequences
        self.before = before
        self.infoBefore = infoBefore
        self.keptTypes = keptTypes
        self.acknowledgedThrough = acknowledgedThrough
        self.workflowID = workflowID
        self.exceptWorkflows = exceptWorkflows
    }
}

import HubCore

/// The hub's durable state, behind domain-level reads and writes.
///
/// Work is closure-scoped: ``write(_:)`` runs its body in one transaction that
/// commits (durably, fsynced) when the body returns and rolls back when it
/// throws, so a state change and its events land together or not at all. Bodies
/// are synchronous: nothing awaits inside a transaction. A store may run the
/// bodies of concurrent callers in one shared commit (group commit); each body
/// still succeeds or fails on its own.
public protocol Store: Sendable {
    /// Runs `body` against a consistent snapshot.
    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T

    /// Runs `body` in a write transaction and returns once its changes are on disk.
    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T

    /// Closes the store; later calls fail with `STORE_UNAVAILABLE`.
    func close() async throws

    /// From now on, tells `observer` the events each commit of this store's writes
    /// appended, right after the commit is durable (one observer; `nil` stops). A store
    /// that cannot leaves this empty: observers learn nothing and read the log instead.
    func observeCommits(_ observer: (any CommitObserver)?)
}

extension Store {
    public func observeCommits(_ observer: (any CommitObserver)?) {}
}

/// Learns what each commit of a store appended to the event log.
public protocol CommitObserver: AnyObject, Sendable {
    /// Whether to collect the events of the next commit at all: collecting has a cost
    /// in the store's writer, worth paying only while someone uses them.
    var wantsCommits: Bool { get }
    /// The events one commit appended, in sequence order; never empty. Called once per
    /// commit, in commit order, from the store's writer: it must return quickly.
    func committed(_ events: [HubEvent])
}

/// Reads inside a transaction.
public protocol StoreReader: DispatchReader, EventLogReader, TokenReader, CheckpointReader {
    /// The workflow with that id, or `nil`.
    func workflow(_ id: String) throws -> Workflow?
    /// Workflows matching the query, and how many match in all.
    func workflows(_ query: WorkflowQuery) throws -> (workflows: [Workflow], total: Int)
    /// The workflow's phases in order.
    func phases(of workflowID: String) throws -> [Phase]
    /// The workflow's tasks in creation order.
    func tasks(of workflowID: String) throws -> [WorkTask]
    /// Events matching the query.
    func events(_ query: EventQuery) throws -> [HubEvent]
    /// The highest sequence number in the log (0 when empty).
    func lastEventSequence() throws -> Int64
}

/// Reads and writes inside a write transaction.
public protocol StoreWriter: StoreReader, DispatchWriter, EventLogWriter, TokenWriter, CheckpointWriter {
    /// Inserts a new workflow; `WORKFLOW_EXISTS` when the id is taken.
    func insert(_ workflow: Workflow) throws
    /// Replaces the stored workflow row with the same id.
    func update(_ workflow: Workflow) throws
    /// Inserts phases.
    func insert(_ phases: [Phase]) throws
    /// Replaces a stored phase.
    func update(_ phase: Phase) throws
    /// Inserts tasks.
    func insert(_ tasks: [WorkTask]) throws
    /// Replaces a stored task.
    func update(_ task: WorkTask) throws
    /// Removes the workflow's phases and tasks (to load them anew from a bundle or checkpoint).
    func removeContents(of workflowID: String) throws
    /// Removes these tasks of the workflow with their dependency links (a restore to a
    /// checkpoint taken before they were added).
    func removeTasks(_ taskIDs: [String], of workflowID: String) throws
    /// Appends events in order, all with the same time — `timestamp`, or the newest stored
    /// event's when that is later by at most a minute (the log's times do not go back along its
    /// sequence for an operation that waited for the writer; one stamped far ahead does not stop
    /// them); their sequences follow one another.
    /// Each carries its data as compact JSON, made by the caller (a publisher makes it before
    /// the write, outside the store's single writer).
    func append(_ events: [EventToAppend], timestamp: Int64) throws -> [HubEvent]
}

/// An event for ``StoreWriter/append(_:timestamp:)``: its draft, id and data as compact JSON.
public struct EventToAppend: Sendable {
    public var draft: EventDraft
    public var eventID: String
    public var serializedData: String

    public init(draft: EventDraft, eventID: String, serializedData: String) {
        self.draft = draft
        self.eventID = eventID
        self.serializedData = serializedData
    }
}

extension StoreWriter {
    /// Appends an event with the given id and time; the store assigns its sequence.
    public func append(_ draft: EventDraft, eventID: String, timestamp: Int64) throws -> HubEvent {
        try append(
            [EventToAppend(draft: draft, eventID: eventID, serializedData: draft.data.serialized())],
            timestamp: timestamp)[0]
    }
}

/// Which workflows `workflows(_:)` returns.
public struct WorkflowQuery: Sendable, Equatable {
    /// Only these statuses; all when empty.
    public var statuses: [WorkflowStatus]
    /// Whether archived workflows are included. Defaults to false.
    public var includeArchived: Bool
    /// Defaults to 100.
    public var limit: Int
    /// Defaults to 0.
    public var offset: Int
    /// Only workflows listed after this one (newest first: created earlier, or at the same
    /// time with a greater id). Paging by it repeats no row and skips none while workflows
    /// are created, where an offset shifts.
    public var after: WorkflowCursor?

    public init(
        statuses: [WorkflowStatus] = [], includeArchived: Bool = false, limit: Int = 100, offset: Int = 0,
        after: WorkflowCursor? = nil
    ) {
        self.statuses = statuses
        self.includeArchived = includeArchived
        self.limit = limit
        self.offset = offset
        self.after = after
    }
}

/// A workflow's place in the listing (``WorkflowQuery``'s order: newest first, then by id).
public struct WorkflowCursor: Sendable, Equatable {
    public var createdAt: Int64
    public var id: String

    public init(createdAt: Int64, id: String) {
        self.createdAt = createdAt
        self.id = id
    }

    public init(_ workflow: Workflow) { self.init(createdAt: workflow.createdAt, id: workflow.id) }
}

/// Which events `events(_:)` returns.
public struct EventQuery: Sendable, Equatable {
    /// Only events with a higher sequence.
    public var afterSequence: Int64?
    /// Only events of these types; all when empty.
    public var eventTypes: [String]
    /// Only events of this workflow.
    public var workflowID: String?
    /// Defaults to 100.
    public var limit: Int
    /// Newest first when true. Defaults to false.
    public var descending: Bool
    /// Only events with a lower sequence (for paging newest first).
    public var beforeSequence: Int64?
    /// Only events at or after this time (milliseconds since 1970).
    public var since: Int64?
    /// Only events at or before this time.
    public var until: Int64?
    /// Only events of these severities; all when empty.
    public var severities: [Severity]

    public init(
        afterSequence: Int64? = nil, eventTypes: [String] = [], workflowID: String? = nil, limit: Int = 100,
        descending: Bool = false, beforeSequence: Int64? = nil, since: Int64? = nil, until: Int64? = nil,
        severities: [Severity] = []
    ) {
        self.afterSequence = afterSequence
        self.eventTypes = eventTypes
        self.workflowID = workflowID
        self.limit = limit
        self.descending = descending
        self.beforeSequence = beforeSequence
        self.since = since
        self.until = until
        self.severities = severities
    }
}

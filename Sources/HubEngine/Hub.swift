import Foundation
import HubCore
import HubStore
import Logging

/// The engine: runs operations from the table against a store.
///
/// Every door hands it an ``OperationRequest`` and gets back the §3 envelope;
/// `perform` never throws. Time and ids come from the injected clock and
/// generator, so tests drive it without sleeping.
public final class Hub: Sendable {
    public let store: any Store
    public let clock: any WallClock
    public let ids: any IDGenerator
    public let configuration: Configuration
    /// Where exports, reports and bundles go (`.claude/coordination` by default).
    public let stateDirectory: String
    /// The directory a workflow's workspace defaults to.
    public let workingDirectory: String
    public let logger: Logger
    public let table: OperationTable
    /// Wakes `claim-task` calls waiting for work in this process.
    public let workSignal = WorkSignal()
    /// Wakes event followers (the server's event streams) when a change in this process
    /// may have appended events, so they read at once instead of on their next poll.
    public let eventSignal = WorkSignal()
    /// The events this process committed last, for event streams that have caught up.
    public let eventFeed = EventFeed()
    /// This hub's passes over interrupted restores, one at a time (``InterruptedRestores``).
    let restoreTurns = TurnGate()
    /// Whether this hub serves clients (`serve`): a queued resource request then waits in
    /// `allocate-resources` up to its `max_wait_time` (§8), where a one-shot command returns
    /// the queued request at once.
    public let serving: Bool
    /// Until when a serving hub holds back the expiry of silent agents and lapsed leases: one
    /// lease duration (3 heartbeat intervals) from its start. Agents cannot heartbeat to a
    /// server that is down, so silence that began before it was listening is not theirs; a
    /// restart after an outage longer than that failed every connected agent at once and
    /// stopped their work. (Task timeouts still apply: they are the task's, not the agent's.)
    public let expiryHeldUntil: Int64?
    /// Where a serving hub records its hold for every other process on the store (a command
    /// run on the state directory during the hold swept as usual and failed every agent).
    public static let expiryHoldSetting = "expiry_held_until"

    /// Whether lease expiry is held back at `now`: this hub's own hold when it serves, else the
    /// hold a server on the same store recorded (``expiryHoldSetting``).
    func expiryHeld(now: Int64, in tx: any StoreReader) throws -> Bool {
        if serving { return expiryHeldUntil.map { now < $0 } ?? false }
        return try tx.setting(Self.expiryHoldSetting)?.intValue.map { now < $0 } ?? false
    }

    /// Records this serving hub's hold for the other processes on its store (`serve` at start).
    public func recordExpiryHold() async throws {
        guard let until = expiryHeldUntil else { return }
        try await store.write { tx in try tx.setSetting(Self.expiryHoldSetting, .int(until)) }
    }

    public init(
        store: any Store, stateDirectory: String, configuration: Configuration = .init(),
        clock: any WallClock = SystemClock(), ids: (any IDGenerator)? = nil,
        workingDirectory: String = FileManager.default.currentDirectoryPath,
        logger: Logger = Logger(label: "coordination-hub"), serving: Bool = false
    ) {
        self.store = store
        self.clock = clock
        self.ids = ids ?? RandomIDGenerator(clock: clock)
        self.configuration = configuration
        self.stateDirectory = stateDirectory
        self.workingDirectory = workingDirectory
        self.logger = logger
        self.table = .standard
        self.serving = serving
        self.expiryHeldUntil =
            serving ? clock.nowMilliseconds() + configuration.heartbeatInterval.milliseconds * 3 : nil
        store.observeCommits(eventFeed)
    }

    /// Runs one operation and returns its response envelope.
    public func perform(_ request: OperationRequest) async -> OperationResponse {
        let started = ContinuousClock.now
        var request = request
        do {
            request = try Self.liftWorkflowID(request)
            let descriptor = try resolve(request)
            // A restore killed before its files were all in place is finished before anything else.
            await InterruptedRestores(hub: self).finish()
            let context = OperationContext(
                hub: self, workflowID: request.workflowID, expectedVersion: nil, operation: descriptor.name)
            if let workflowID = request.workflowID, descriptor.touchesExistingWorkflow {
                let exists = try await enforceDeadline(workflowID)
                // A hub operation called with a workflow id must name an existing workflow (§17).
                if descriptor.scope == .hub && !exists { throw HubError.workflowNotFound(workflowID) }
            }
            let outcome = try await CommittedChange.$current.withValue(CommittedChange()) {
                try await descriptor.handler(context, request.parameters)
            }
            if Self.mayReadyWork.contains(descriptor.name) { await workSignal.notify() }
            if !descriptor.readOnly { await eventSignal.notify() }
            return .success(
                request: request, outcome: outcome, timestamp: clock.nowMilliseconds(),
                elapsed: ContinuousClock.now - started)
        } catch let error as HubError {
            return .failure(request: request, error: error, timestamp: clock.nowMilliseconds())
        } catch {
            logger.error(
                "operation failed unexpectedly", metadata: ["operation": "\(request.operation)", "error": "\(error)"])
            return .failure(request: request, error: .internal("\(error)"), timestamp: clock.nowMilliseconds())
        }
    }

    /// Operations after which tasks may have become claimable, or a workflow whose tasks a
    /// claim waits for may have ended: waiting claims look again.
    static let mayReadyWork: Set<String> = [
        "start", "resume", "add-tasks", "complete-phase", "complete-task", "fail-task", "register-agent",
        "deregister-agent", "heartbeat", "redistribute-tasks", "assign-agents", "release-resources", "load-state",
        "complete", "cancel",
    ]

    /// `"workflow_id"` among the parameters is the same as the workflow id of the call form (§2).
    static func liftWorkflowID(_ request: OperationRequest) throws(HubError) -> OperationRequest {
        guard let given = request.parameters["workflow_id"] else { return request }
        guard let id = given.stringValue else { throw HubError.parameter("workflow_id", "must be a string") }
        if let named = request.workflowID, named != id {
            throw HubError.parameter("workflow_id", "is \"\(id.prefix(64))\" but the call names workflow \(named)")
        }
        var lifted = request
        lifted.workflowID = id
        lifted.parameters["workflow_id"] = nil
        return lifted
    }

    /// Checks the request against the table: known operation, valid workflow id, scope.
    public func resolve(_ request: OperationRequest) throws(HubError) -> OperationDescriptor {
        try Self.resolve(request, table: table)
    }

    /// Checks the request against `table` without a store, so a door can refuse it before opening one.
    public static func resolve(_ request: OperationRequest, table: OperationTable) throws(HubError)
        -> OperationDescriptor
    {
        guard let descriptor = table[request.operation] else {
            var suggestions = ["List the operations with 'coordination-hub help'"]
            if let guess = table.closest(to: request.operation) {
                suggestions.insert("Did you mean '\(guess)'?", at: 0)
            }
            throw HubError(
                .operationNotFound, "Unknown operation '\(request.operation.prefix(64))'",
                details: "Operations: \(table.names.joined(separator: ", ")).", suggestions: suggestions)
        }
        if let id = request.workflowID {
            try validateWorkflowID(id, table: table)
        } else if descriptor.scope == .workflow {
            throw HubError(
                .invalidArguments, "\(descriptor.name) needs a workflow id",
                details:
                    "Name the workflow: coordination-hub <workflow-id> \(descriptor.name) '<json>' on the command line, POST /v1/workflows/<workflow-id>/\(descriptor.name) over HTTP, workflow_id in an MCP call.",
                suggestions: ["List workflows with list-workflows"])
        }
        return descriptor
    }

    /// Refuses ids that break the id rule or are an operation's name (§2, §17).
    public func validateWorkflowID(_ id: String) throws(HubError) {
        try Self.validateWorkflowID(id, table: table)
    }

    /// Whether `id` is an operation's or a command's name, which no workflow or agent id may be (§2).
    static func isCommandName(_ id: String, table: OperationTable) -> Bool {
        table[id] != nil || ["serve", "mcp", "agent", "openapi", "version", "help"].contains(id)
    }

    static func validateWorkflowID(_ id: String, table: OperationTable) throws(HubError) {
        if let problem = Identifier.problem(with: id) {
            throw HubError(
                .invalidWorkflowID, "Invalid workflow id \"\(id.prefix(64))\": it \(problem)",
                details: "Workflow ids match ^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$.",
                suggestions: ["Use an id such as workflow_123"])
        }
        if isCommandName(id, table: table) {
            throw HubError(
                .invalidWorkflowID, "Invalid workflow id \"\(id)\": it is the name of an operation or command",
                details: "Workflow ids may not be operation names, so commands cannot be misread.",
                suggestions: ["Use an id such as \(id)_workflow"])
        }
    }
}

/// An operation to perform: the seed's envelope.
public struct OperationRequest: Sendable {
    public var workflowID: String?
    public var operation: String
    /// A JSON object (already checked to be one by the door).
    public var parameters: JSONValue

    public init(workflowID: String?, operation: String, parameters: JSONValue = .emptyObject) {
        self.workflowID = workflowID
        self.operation = operation
        self.parameters = parameters
    }
}

extension Hub {
    /// This build's version, as `version`, the server and its OpenAPI document report it.
    public static let version = "0.1.0"
}

/// Something that performs operations: the engine itself, or a client of a server
/// running one (`--hub`). The agent runner and the command line work with either.
public protocol OperationPerformer: Sendable {
    func perform(_ request: OperationRequest) async -> OperationResponse
}

extension Hub: OperationPerformer {}

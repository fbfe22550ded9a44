import Foundation
import HubCore

/// Whether an operation needs a workflow id (§2's scope table).
public enum OperationScope: String, Sendable {
    /// The workflow id is required.
    case workflow
    /// No workflow id is needed; one may be given to narrow the operation (§17).
    case hub
}

/// One row of the operation table: everything every door needs to know about an operation.
///
/// The command line, `help`, and later the HTTP routes, MCP tools and OpenAPI
/// document are generated from these descriptions; nothing about an operation
/// lives in a door.
public struct OperationDescriptor: Sendable {
    public let name: String
    public let scope: OperationScope
    /// One line for the operation list.
    public let summary: String
    /// What `help <operation>` adds: behaviour, defaults, errors.
    public let discussion: String
    /// A complete example invocation, as a user would type it.
    public let example: String
    /// What the workflow id does (the call form `coordination-hub <id> <operation>`, or
    /// `workflow_id` among the parameters), as every door describes it: for a workflow
    /// operation, the workflow it acts on; for a hub operation, how it narrows the operation
    /// (§17), or that it narrows nothing.
    public let workflowIDEffect: String
    /// Whether it accepts `if_version` (§9): the workflow operations that change the workflow,
    /// and `checkpoint`, which records its state.
    public let mutating: Bool
    /// Why it takes no `if_version`, said to a caller who sends one; `nil` when it takes it.
    public let versionRefusal: String?
    /// Whether it only reads: no change, no event (apart from the timeouts and agent
    /// expiries that calls enforce against the clock). Every other operation may append events.
    public var readOnly: Bool { Self.readers.contains(name) }

    static let readers: Set<String> = [
        "get-status", "list-workflows", "get-events", "get-metrics", "monitor-pool", "list-checkpoints",
    ]
    /// The parameters' JSON Schema; unknown keys are refused.
    public let schema: Schema
    /// Whether the named workflow's timeout and budget are enforced before the operation
    /// runs (§5: whenever a workflow is touched). Off only for operations that make the
    /// workflow, which cannot have run yet.
    public let touchesExistingWorkflow: Bool
    let handler: @Sendable (OperationContext, JSONValue) async throws -> OperationOutcome

    /// Describes an operation whose parameters decode into `P`. `workflowID` says what a
    /// workflow id does for a hub operation that it narrows (§17); left out, the operation
    /// is described as accepting one for the call form and narrowing nothing.
    public init<P: OperationParameters>(
        _ name: String, scope: OperationScope, mutating: Bool, parameters: P.Type, summary: String,
        discussion: String = "", example: String, workflowID: String? = nil, touchesExistingWorkflow: Bool = true,
        withoutVersion: String? = nil,
        handler: @escaping @Sendable (OperationContext, P) async throws -> OperationOutcome
    ) {
        self.name = name
        self.scope = scope
        self.summary = summary
        self.discussion = discussion
        self.example = example
        self.workflowIDEffect =
            scope == .workflow
            ? workflowID ?? "The workflow to act on."
            : workflowID
                ?? "Accepted for the call form `coordination-hub <id> \(name)` (it must name an existing workflow); narrows nothing."
        self.mutating = mutating
        self.touchesExistingWorkflow = touchesExistingWorkflow
        let versionRefusal =
            mutating
            ? nil
            : withoutVersion
                ?? (Self.readers.contains(name)
                    ? "\(name) only reads, so there is no change for it to guard"
                    : "\(name) is a hub operation; if_version guards the workflow operations that change a workflow (start, pause, add-tasks, restore, …; see 'help')")
        self.versionRefusal = versionRefusal
        var schema = P.schema
        if mutating, case .object(var properties, let additional) = schema.kind {
            properties.append(
                .init(
                    "if_version",
                    .integer(
                        "Refuse the change with VERSION_CONFLICT unless the workflow's state_version is this.", min: 1))
            )
            schema.kind = .object(properties, additional: additional)
        }
        self.schema = schema
        let finalSchema = schema
        self.handler = { context, raw in
            if let versionRefusal, raw["if_version"] != nil {
                // Said plainly rather than as an unknown parameter: README and §9 speak of if_version.
                throw HubError.parameter(
                    "if_version", "is not taken by \(name): \(versionRefusal)",
                    suggestions: ["Send the request without if_version"])
            }
            try finalSchema.validate(raw)
            var withoutVersion = raw
            var context = context
            if mutating, let version = raw["if_version"]?.intValue {
                context.expectedVersion = version
                withoutVersion["if_version"] = nil
            }
            let parameters = try P.decode(withoutVersion)
            return try await handler(context, parameters)
        }
    }
}

/// What a successful operation returns, before the door wraps it in the §3 envelope.
public struct OperationOutcome: Sendable {
    /// `result`: operation specific. For a result written as text, parsed from it.
    public var result: JSONValue {
        get { tree ?? serializedResult.flatMap { try? JSONParser.parse(bytes: $0) } ?? .null }
        set {
            tree = newValue
            serializedResult = nil
        }
    }
    /// `result` as compact JSON text, when the operation wrote it so (publish-event's
    /// echo of its events); the envelope then carries it as it is (`OperationResponse`).
    public private(set) var serializedResult: [UInt8]?
    private var tree: JSONValue?
    /// `next_steps`, derived from the state after the operation.
    public var nextSteps: [String]
    /// The workflow's `state_version` after the operation, for `metrics`.
    public var stateVersion: Int64?
    /// The workflow the operation acted on when the request did not name it (accept-handoff
    /// takes it from the definition), for the envelope's `workflow_id`.
    public var workflowID: String?

    public init(result: JSONValue, nextSteps: [String] = [], stateVersion: Int64? = nil) {
        self.tree = result
        self.nextSteps = nextSteps
        self.stateVersion = stateVersion
    }

    /// A result already written as compact JSON text by a ``JSONWriter``.
    public init(serializedResult: [UInt8], nextSteps: [String] = [], stateVersion: Int64? = nil) {
        self.serializedResult = serializedResult
        self.nextSteps = nextSteps
        self.stateVersion = stateVersion
    }
}

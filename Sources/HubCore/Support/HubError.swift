/// The one error type of the hub: a stable code, a message that says what to fix,
/// and the facts a caller needs to recover.
///
/// Every door maps it in exactly one place (exit status, HTTP status, MCP error).
/// Equality is by code, so tests can compare against `HubError.Code` values.
public struct HubError: Error, Sendable, CustomStringConvertible {
    /// A stable, documented error code. Its ``name`` is the wire form (`WORKFLOW_NOT_FOUND`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, CaseIterable {
            case invalidArguments = "INVALID_ARGUMENTS"
            case invalidParameters = "INVALID_PARAMETERS"
            case invalidWorkflowID = "INVALID_WORKFLOW_ID"
            case workflowNotFound = "WORKFLOW_NOT_FOUND"
            case workflowExists = "WORKFLOW_EXISTS"
            case invalidTransition = "INVALID_TRANSITION"
            case workflowIncomplete = "WORKFLOW_INCOMPLETE"
            case taskNotFound = "TASK_NOT_FOUND"
            case agentNotFound = "AGENT_NOT_FOUND"
            case leaseExpired = "LEASE_EXPIRED"
            case versionConflict = "VERSION_CONFLICT"
            case checkpointNotFound = "CHECKPOINT_NOT_FOUND"
            case checkpointCorrupt = "CHECKPOINT_CORRUPT"
            case resourceTimeout = "RESOURCE_TIMEOUT"
            case subscriptionNotFound = "SUBSCRIPTION_NOT_FOUND"
            case pathNotAllowed = "PATH_NOT_ALLOWED"
            case urlNotAllowed = "URL_NOT_ALLOWED"
            case unauthorized = "UNAUTHORIZED"
            case forbidden = "FORBIDDEN"
            case payloadTooLarge = "PAYLOAD_TOO_LARGE"
            case evidenceMissing = "EVIDENCE_MISSING"
            case evidenceRejected = "EVIDENCE_REJECTED"
            case budgetExhausted = "BUDGET_EXHAUSTED"
            case dependencyUnavailable = "DEPENDENCY_UNAVAILABLE"
            case operationNotFound = "OPERATION_NOT_FOUND"
            case storeUnavailable = "STORE_UNAVAILABLE"
            case restoreIncomplete = "RESTORE_INCOMPLETE"
            case `internal` = "INTERNAL"
        }

        fileprivate let base: Base

        /// The wire name, e.g. `WORKFLOW_NOT_FOUND`.
        public var name: String { base.rawValue }
        public var description: String { base.rawValue }

        /// Every code, in documentation order.
        public static var all: [Code] { Base.allCases.map(Code.init(base:)) }

        /// The code with the given wire name, or `nil`.
        public init?(name: String) {
            guard let base = Base(rawValue: name) else { return nil }
            self.base = base
        }

        fileprivate init(base: Base) { self.base = base }

        /// The command line could not be read as (workflow id, operation, JSON object).
        public static let invalidArguments = Code(base: .invalidArguments)
        /// A parameter is unknown, ill-typed or out of range; the message names it.
        public static let invalidParameters = Code(base: .invalidParameters)
        /// The workflow id does not match the id rule or is an operation's name.
        public static let invalidWorkflowID = Code(base: .invalidWorkflowID)
        /// No workflow has that id.
        public static let workflowNotFound = Code(base: .workflowNotFound)
        /// `create` with an id that is taken.
        public static let workflowExists = Code(base: .workflowExists)
        /// The operation is not allowed from the workflow's current status.
        public static let invalidTransition = Code(base: .invalidTransition)
        /// `complete` or `complete-phase` while work remains, without `force`.
        public static let workflowIncomplete = Code(base: .workflowIncomplete)
        /// No task has that id in the workflow.
        public static let taskNotFound = Code(base: .taskNotFound)
        /// No agent has that id.
        public static let agentNotFound = Code(base: .agentNotFound)
        /// The lease is stale, foreign or already used.
        public static let leaseExpired = Code(base: .leaseExpired)
        /// `if_version` differs from the workflow's current `state_version`, or another runner
        /// holds the agent id (`register-agent` or `heartbeat` with `runner_id`).
        public static let versionConflict = Code(base: .versionConflict)
        /// No checkpoint has that id or name.
        public static let checkpointNotFound = Code(base: .checkpointNotFound)
        /// A checkpoint or bundle failed its checksum.
        public static let checkpointCorrupt = Code(base: .checkpointCorrupt)
        /// A resource request waited longer than `max_wait_time`.
        public static let resourceTimeout = Code(base: .resourceTimeout)
        /// No subscription has that id or callback name.
        public static let subscriptionNotFound = Code(base: .subscriptionNotFound)
        /// A path resolves outside the allowed roots.
        public static let pathNotAllowed = Code(base: .pathNotAllowed)
        /// A URL's host is not in the allowlist.
        public static let urlNotAllowed = Code(base: .urlNotAllowed)
        /// The request carries no valid token.
        public static let unauthorized = Code(base: .unauthorized)
        /// The token may not do this.
        public static let forbidden = Code(base: .forbidden)
        /// The request body is over the configured limit.
        public static let payloadTooLarge = Code(base: .payloadTooLarge)
        /// Required evidence was not supplied.
        public static let evidenceMissing = Code(base: .evidenceMissing)
        /// Evidence was supplied but failed verification.
        public static let evidenceRejected = Code(base: .evidenceRejected)
        /// The workflow's or agent's budget is spent.
        public static let budgetExhausted = Code(base: .budgetExhausted)
        /// A dependency's `check_command` failed.
        public static let dependencyUnavailable = Code(base: .dependencyUnavailable)
        /// No operation has that name.
        public static let operationNotFound = Code(base: .operationNotFound)
        /// The store could not be opened or written.
        public static let storeUnavailable = Code(base: .storeUnavailable)
        /// A restore brought the state back (committed) but could not put every file back: unlike
        /// every other code, something changed. Running the same restore again finishes it.
        public static let restoreIncomplete = Code(base: .restoreIncomplete)
        /// A bug: the hub failed in a way it did not expect.
        public static let `internal` = Code(base: .internal)
    }

    /// The stable code.
    public var code: Code
    /// What went wrong, naming the offending field, id or status.
    public var message: String
    /// What to do about it, in one sentence.
    public var details: String?
    /// Structured facts (for `INVALID_TRANSITION`: `current_status`, `allowed_operations`).
    public var context: JSONValue?
    /// Concrete next actions, derived from the state at hand.
    public var recoverySuggestions: [String]

    public init(
        _ code: Code, _ message: String, details: String? = nil, context: JSONValue? = nil,
        suggestions: [String] = []
    ) {
        self.code = code
        self.message = message
        self.details = details
        self.context = context
        self.recoverySuggestions = suggestions
    }

    public var description: String { "\(code.name): \(message)" }

    /// The `error` object of the §3 response.
    public var errorObject: JSONValue {
        var object: JSONValue = ["code": .string(code.name), "message": .string(message)]
        if let details { object["details"] = .string(details) }
        if let context { object["context"] = context }
        return object
    }

    /// `INVALID_PARAMETERS` for the first of `others` that is given beside a parameter that
    /// takes none of them (`event_id`, a polled `request_id`): given, it would be dropped unread.
    public static func refusing(
        _ others: KeyValuePairs<String, Bool>, beside what: String, suggestion: String
    ) -> HubError? {
        guard let first = others.first(where: \.value)?.key else { return nil }
        return .parameter(first, "cannot be given with \(what)", suggestions: [suggestion])
    }

    /// An `INVALID_PARAMETERS` error about one field.
    public static func parameter(_ field: String, _ problem: String, suggestions: [String] = []) -> HubError {
        HubError(
            .invalidParameters, "parameter '\(field)' \(problem)",
            details: "Fix '\(field)' and send the request again; 'help <operation>' lists the parameters.",
            context: ["field": .string(field)], suggestions: suggestions)
    }

    /// A `URL_NOT_ALLOWED` error about a webhook URL.
    ///
    /// `host` is the host as read (`nil` when the URL has none worth naming);
    /// `entries` are `webhook_allowlist` entries that would allow it, empty when no
    /// entry can (a malformed URL, a numeric host in a non-canonical form).
    public static func urlNotAllowed(host: String?, _ problem: String, allowWith entries: [String] = []) -> HubError {
        var context: JSONValue = .emptyObject
        if let host { context["host"] = .string(host) }
        let suggestions: [String]
        if entries.isEmpty {
            suggestions = ["Use an http:// or https:// URL whose host webhook_allowlist allows"]
        } else {
            let listed = entries.map { "\"\($0)\"" }.joined(separator: " or ")
            suggestions = [
                "Add \(listed) to webhook_allowlist in <state-dir>/config.json, "
                    + "COORDINATION_HUB_WEBHOOK_ALLOWLIST or --set webhook_allowlist=…"
            ]
            context["allow_with"] = .strings(entries)
        }
        let subject = host.map { "webhook host \($0)" } ?? "webhook URL"
        return HubError(
            .urlNotAllowed, "The \(subject) is not allowed: \(problem)",
            details: "Webhooks go only to hosts the configuration's webhook_allowlist allows (default: loopback only).",
            context: context, suggestions: suggestions)
    }

    /// An `INTERNAL` error wrapping an unexpected failure.
    public static func `internal`(_ message: String) -> HubError {
        HubError(.internal, message, details: "This is a bug in coordination-hub; the operation changed nothing.")
    }
}

extension HubError: Equatable {
    public static func == (lhs: HubError, rhs: HubError) -> Bool { lhs.code == rhs.code }
}

import HubCore

extension HubError {
    /// `INVALID_ARGUMENTS` for a request envelope (`--request`, `POST /v1/operations`) that
    /// is not a JSON object, saying what the envelope is and the fields it takes (§2).
    public static func envelopeNotAnObject(got value: JSONValue) -> HubError {
        HubError(
            .invalidArguments,
            #"The request envelope must be a JSON object {"workflow_id": …, "operation": …, "parameters": {…}}, got "#
                + value.typeName,
            details: """
                "operation" (a string) names the operation; "workflow_id" (a string) names the workflow, required \
                for workflow operations; "parameters" (an object) holds the operation's parameters, {} when absent.
                """,
            suggestions: [
                #"Send e.g. {"workflow_id": "workflow_123", "operation": "get-status", "parameters": {}}"#,
                "List the operations with 'coordination-hub help'",
            ])
    }
}

/// The seed's request envelope, `{"workflow_id": …, "operation": …, "parameters": {…}}`, read
/// the same by `--request` and `POST /v1/operations` (§2).
public enum RequestEnvelope {
    /// An envelope refused, with the operation and workflow it names as far as it can be read:
    /// the answer says `"operation": "pause"` rather than `"request"` when the envelope says so.
    public struct Refusal: Error {
        public var error: HubError
        public var operation: String
        public var workflowID: String?

        public init(error: HubError, operation: String, workflowID: String?) {
            self.error = error
            self.operation = operation
            self.workflowID = workflowID
        }
    }

    /// The request `value` makes, or why it makes none. The operation is not looked up here:
    /// each door answers an unknown one as it answers it elsewhere.
    public static func read(_ value: JSONValue) -> Result<OperationRequest, Refusal> {
        guard let fields = value.objectValue else {
            return .failure(Refusal(error: .envelopeNotAnObject(got: value), operation: "request", workflowID: nil))
        }
        let named = (fields["operation"]?.stringValue).map { String($0.prefix(128)) }
        let workflowID = fields["workflow_id"]?.stringValue.flatMap { Identifier.isValid($0) ? $0 : nil }
        func refuse(_ message: String, suggestions: [String] = []) -> Result<OperationRequest, Refusal> {
            .failure(
                Refusal(
                    error: HubError(.invalidArguments, message, suggestions: suggestions),
                    operation: named ?? "request", workflowID: workflowID))
        }
        for key in fields.keys.sorted() where !["workflow_id", "operation", "parameters"].contains(key) {
            return refuse(
                "Unknown key '\(key.prefix(64))' in the request envelope (expected workflow_id, operation, parameters)")
        }
        guard let operation = fields["operation"]?.stringValue else {
            let given = fields["operation"].map { ", got \($0.typeName)" } ?? ""
            return refuse("The request envelope needs \"operation\" (a string)" + given)
        }
        let id: String?
        switch fields["workflow_id"] {
        case nil, .null?: id = nil
        case .string(let s)?: id = s
        case let other?:
            return refuse("\"workflow_id\" in the request envelope must be a string, got \(other.typeName)")
        }
        let parameters = fields["parameters"] ?? .emptyObject
        guard case .object = parameters else {
            return refuse(
                "\"parameters\" in the request envelope must be an object, got \(parameters.typeName)",
                suggestions: ["Wrap the parameters in { }"])
        }
        return .success(OperationRequest(workflowID: id, operation: operation, parameters: parameters))
    }
}

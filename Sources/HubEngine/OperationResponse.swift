import HubCore

/// The §3 envelope of one operation's outcome.
public struct OperationResponse: Sendable {
    /// The envelope as JSON.
    public var json: JSONValue {
        guard let serializedResult else { return envelope }
        var json = envelope
        json["result"] = (try? JSONParser.parse(bytes: serializedResult)) ?? .null
        return json
    }
    /// The error, when the operation failed.
    public let error: HubError?
    /// The envelope; for a result written as text, with a placeholder in its place.
    private let envelope: JSONValue
    private let serializedResult: [UInt8]?

    /// The envelope as compact JSON text, as a server sends it; a result written as
    /// text is copied in, never built as a tree.
    public var compactBytes: [UInt8] {
        guard let serializedResult else { return envelope.serializedBytes(.compact) }
        return envelope.serializedBytes(replacing: "result", with: serializedResult)
    }

    public var succeeded: Bool { error == nil }

    /// A response received as JSON (from a server): its error, if any, read back from the envelope.
    public init(json: JSONValue) {
        self.envelope = json
        self.serializedResult = nil
        guard json["status"]?.stringValue != "success" else {
            self.error = nil
            return
        }
        let object = json["error"] ?? .emptyObject
        self.error = HubError(
            object["code"]?.stringValue.flatMap(HubError.Code.init(name:)) ?? .internal,
            object["message"]?.stringValue ?? "The hub answered an error without a message",
            details: object["details"]?.stringValue, context: object["context"],
            suggestions: json["recovery_suggestions"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }

    init(json: JSONValue, error: HubError?, serializedResult: [UInt8]? = nil) {
        self.envelope = json
        self.error = error
        self.serializedResult = serializedResult
    }

    /// The success envelope of `outcome`, which took `elapsed` (`metrics.execution_time`).
    public static func success(
        request: OperationRequest, outcome: OperationOutcome, timestamp: Int64, elapsed: Duration
    )
        -> OperationResponse
    {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var metrics: JSONValue = ["execution_time": .string(HubDuration.formatMeasured(seconds: seconds))]
        if let version = outcome.stateVersion { metrics["state_version"] = .int(version) }
        let json: JSONValue = [
            "status": "success",
            "operation": .string(request.operation),
            "workflow_id": .optional(request.workflowID ?? outcome.workflowID),
            "timestamp": .string(Timestamp.format(milliseconds: timestamp)),
            "result": outcome.serializedResult == nil ? outcome.result : .null,
            "metrics": metrics,
            "next_steps": .strings(outcome.nextSteps),
        ]
        return OperationResponse(json: json, error: nil, serializedResult: outcome.serializedResult)
    }

    /// The error envelope for an error raised before or during an operation.
    public static func failure(request: OperationRequest, error: HubError, timestamp: Int64) -> OperationResponse {
        let json: JSONValue = [
            "status": "error",
            "operation": .string(request.operation),
            "workflow_id": .optional(request.workflowID),
            "timestamp": .string(Timestamp.format(milliseconds: timestamp)),
            "error": error.errorObject,
            "recovery_suggestions": .strings(error.recoverySuggestions),
        ]
        return OperationResponse(json: json, error: error)
    }
}

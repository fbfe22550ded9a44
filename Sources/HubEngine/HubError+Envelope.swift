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

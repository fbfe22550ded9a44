import HubCore
import HubEngine
import MCP

/// The hub's operations as MCP tools (§13), generated from the operation table:
/// one tool per operation, named after it with `_` for `-`, whose input schema is
/// the operation's parameters plus `workflow_id` (required for workflow
/// operations). Pure: no I/O, so the mapping is tested on its own.
public struct MCPToolCatalog: Sendable {
    public let table: OperationTable

    public init(table: OperationTable = .standard) { self.table = table }

    /// The tool name of an operation: `get-status` → `get_status`.
    public static func toolName(_ operation: String) -> String {
        operation.replacingOccurrences(of: "-", with: "_")
    }

    /// Every operation as a tool, in the table's order.
    public var tools: [Tool] { table.operations.map(Self.tool) }

    static func tool(_ op: OperationDescriptor) -> Tool {
        var description = op.summary
        if !op.discussion.isEmpty { description += "\n\n" + op.discussion }
        description += "\n\nCommand-line equivalent: " + op.example
        return Tool(
            name: toolName(op.name), title: op.name, description: description,
            inputSchema: inputSchema(op).mcpValue,
            annotations: .init(readOnlyHint: readOnlyHint(op), openWorldHint: false))
    }

    /// Whether a client may take the tool to change nothing (and run it without asking):
    /// not `get_events`, whose `ack` moves a subscription's durable cursor (consumes its events).
    static func readOnlyHint(_ op: OperationDescriptor) -> Bool { op.readOnly && op.name != "get-events" }

    /// The operation's parameter schema with `workflow_id` added in front.
    static func inputSchema(_ op: OperationDescriptor) -> JSONValue {
        let parameters = op.schema.json
        var properties: JSONValue = [
            "workflow_id": [
                "type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$",
                "description": .string(
                    op.scope == .workflow ? op.workflowIDEffect : "Optional. " + op.workflowIDEffect),
            ]
        ]
        for (name, schema) in parameters["properties"]?.objectValue ?? [:] { properties[name] = schema }
        var schema = parameters
        schema["type"] = "object"
        schema["properties"] = properties
        if op.scope == .workflow {
            schema["required"] = .array([.string("workflow_id")] + (parameters["required"]?.arrayValue ?? []))
        }
        return schema
    }

    /// The operation a tool call asks for, or the error to return as a tool error.
    public func request(for call: CallTool.Parameters) -> Result<OperationRequest, HubError> {
        let operation = call.name.replacingOccurrences(of: "_", with: "-")
        guard let op = table[operation], Self.toolName(op.name) == call.name else {
            var suggestions = ["List the tools with tools/list"]
            if let guess = table.closest(to: operation) {
                suggestions.insert("Did you mean '\(Self.toolName(guess))'?", at: 0)
            }
            return .failure(
                HubError(.operationNotFound, "Unknown tool '\(call.name.prefix(64))'", suggestions: suggestions))
        }
        var parameters: JSONValue = .emptyObject
        var workflowID: String?
        for key in (call.arguments ?? [:]).keys.sorted() {
            let value: MCP.Value = call.arguments?[key] ?? .null
            guard key == "workflow_id" else {
                parameters[key] = JSONValue(mcp: value)
                continue
            }
            switch value {
            case .string(let id): workflowID = id
            case .null: break
            default:
                // As the other doors answer it: a parameter of the wrong type.
                return .failure(HubError.parameter("workflow_id", "must be a string"))
            }
        }
        if op.scope == .workflow, workflowID == nil {
            return .failure(
                HubError(
                    .invalidArguments, "\(call.name) needs workflow_id",
                    details: "Workflow tools act on one workflow: pass {\"workflow_id\": \"…\", …}.",
                    suggestions: ["List workflows with the list_workflows tool"]))
        }
        return .success(OperationRequest(workflowID: workflowID, operation: op.name, parameters: parameters))
    }

    /// The MCP value of a JSON value (the conversion the tool results use).
    public static func mcpValue(of json: JSONValue) -> MCP.Value { json.mcpValue }

    /// The tool result of an operation's response: the §3 envelope as text and as
    /// structured content; an error envelope (carrying the §3 error object) is a tool error.
    public static func result(_ response: OperationResponse) -> CallTool.Result {
        CallTool.Result(
            content: [.text(text: response.json.serialized(.compact), annotations: nil, _meta: nil)],
            structuredContent: Optional.some(response.json.mcpValue),
            isError: response.error != nil)
    }
}

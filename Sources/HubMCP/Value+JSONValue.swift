import Foundation
import HubCore
import MCP

/// The MCP SDK's `MCP.Value` and the hub's `JSONValue` are the same JSON; these
/// convert one to the other at the door and nowhere else.
extension JSONValue {
    /// The MCP value for this JSON.
    var mcpValue: MCP.Value {
        switch self {
        case .null: .null
        case .bool(let b): .bool(b)
        case .int(let i): .int(Int(i))
        case .double(let d): .double(d)
        case .string(let s): .string(s)
        case .array(let items): .array(items.map(\.mcpValue))
        case .object(let members):
            .object(Dictionary(uniqueKeysWithValues: members.map { ($0.key, $0.value.mcpValue) }))
        }
    }

    /// The JSON of an MCP value. `data` values (binary, which tool arguments do
    /// not carry) become their data-URL string, which the schema then refuses.
    public init(mcp value: MCP.Value) {
        switch value {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(Int64(i))
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .data: self = .string(value.description)
        case .array(let items): self = .array(items.map(JSONValue.init(mcp:)))
        case .object(let members):
            // Sorted, so a call's parameters read the same whatever order the dictionary holds.
            var out: JSONValue = .emptyObject
            for key in members.keys.sorted() { out[key] = JSONValue(mcp: members[key] ?? .null) }
            self = out
        }
    }
}

import Foundation
import HubCore

/// `help` and `help <operation>`, generated from the operation table.
public enum HelpText {
    /// The list of every operation with its parameters and an example.
    public static func overview(_ table: OperationTable) -> String {
        var lines = [
            "coordination-hub — durable coordination of multi-agent development workflows",
            "",
            "Usage:",
            "  coordination-hub <workflow-id> <operation> ['<json>' | @file.json | @file.yaml | -]",
            "  coordination-hub <hub-operation> ['<json>']",
            "  coordination-hub --request -        (reads {\"workflow_id\", \"operation\", \"parameters\"} from stdin)",
            "  coordination-hub agent --id ID [--roles ROLE,…] [--max-tasks N] [--workflow ID] [--hub URL] [--token T] [-- command …]",
            "  coordination-hub serve [--host 127.0.0.1] [--port 8080] [--admin-token T]",
            "      HTTP API: POST /v1/workflows/{id}/{operation}, POST /v1/{operation}, POST /v1/operations,",
            "      GET /v1/workflows, GET /v1/workflows/{id}, GET /v1/events/stream (SSE), GET /healthz,",
            "      GET /openapi.json; runs webhook delivery and retention",
            "  coordination-hub mcp [--hub URL] [--token T]",
            "      MCP server on stdio: every operation as a tool (get_status, claim_task, …) for AI agents",
            "  coordination-hub openapi             (prints the HTTP API's OpenAPI 3.1 document)",
            "  coordination-hub help [<operation> | agent | serve | mcp] | version",
            "",
            "Options:",
            "  --state-dir DIR   state directory (env COORDINATION_HUB_STATE_DIR; default .claude/coordination)",
            "  --hub URL         send the operation to a running server instead (env COORDINATION_HUB_URL)",
            "  --token T         the bearer token for --hub (env COORDINATION_HUB_TOKEN)",
            "  --pretty          indented JSON (the default when stdout is a terminal)",
            "  --set KEY=VALUE   override a configuration key for this call (see config.json keys below)",
            "",
            "Output: one JSON document on stdout. Exit status 0 success, 1 operation error, 2 unreadable command line.",
            "",
        ]
        // Wide enough for the longest name: a name cut short could not be copied into a command.
        let width = max(18, table.operations.map(\.name.count).max() ?? 0)
        for scope in [OperationScope.workflow, .hub] {
            lines.append(
                scope == .workflow
                    ? "Workflow operations (workflow id required):" : "Hub operations (workflow id optional):")
            for op in table.operations where op.scope == scope {
                lines.append("  \(op.name.padding(toLength: width, withPad: " ", startingAt: 0)) \(op.summary)")
                let params = op.schema.properties.map(\.name)
                if !params.isEmpty {
                    lines.append(
                        "  \(String(repeating: " ", count: width)) parameters: \(params.joined(separator: ", "))")
                }
                lines.append(
                    "  \(String(repeating: " ", count: width)) e.g. \(op.example.trimmingCharacters(in: .whitespacesAndNewlines))"
                )
            }
            lines.append("")
        }
        lines.append("Configuration keys (<state-dir>/config.json or .yaml, env COORDINATION_HUB_<KEY>, --set):")
        lines.append("  " + Configuration.keys.joined(separator: ", "))
        lines.append("")
        lines.append("Run 'coordination-hub help <operation>' for one operation's parameters in full.")
        return lines.joined(separator: "\n") + "\n"
    }

    /// One operation in full: summary, discussion, every parameter (and the fields of the
    /// objects they hold, such as a task's), an example.
    public static func operation(_ op: OperationDescriptor) -> String {
        var lines = [
            "coordination-hub \(op.scope == .workflow ? "<workflow-id>" : "[<workflow-id>]") \(op.name) ['<json>']", "",
            op.summary,
        ]
        if !op.discussion.isEmpty { lines += ["", op.discussion] }
        lines += ["", "Parameters:"]
        let props = op.schema.properties
        if props.isEmpty { lines.append("  (none)") }
        for p in props { describe(p, indent: 2, depth: 0, into: &lines) }
        if op.scope == .hub {
            lines += ["", "Workflow id (optional: before the operation, or workflow_id): " + op.workflowIDEffect]
        }
        lines += ["", "Example:", "  " + op.example.trimmingCharacters(in: .whitespacesAndNewlines), ""]
        return lines.joined(separator: "\n")
    }

    /// How deep fields are listed: deep enough for create's phases → tasks → evidence → files.
    static let maxDepth = 4

    /// One parameter's line, then the fields of the objects it holds (directly, as the items
    /// of an array, or as one alternative), each level indented four more.
    static func describe(_ p: Schema.Property, indent: Int, depth: Int, into lines: inout [String]) {
        var line = "\(String(repeating: " ", count: indent))\(p.name)\(p.required ? " (required)" : ""): "
        line += typeDescription(p.schema)
        if let summary = p.schema.summary { line += " — \(summary)" }
        lines.append(line)
        guard depth < maxDepth else { return }
        for field in fields(of: p.schema) { describe(field, indent: indent + 4, depth: depth + 1, into: &lines) }
    }

    /// The fields of the objects a value of `schema` holds: its own, its items', or its alternatives'.
    static func fields(of schema: Schema) -> [Schema.Property] {
        switch schema.kind {
        case .object(let properties, _): return properties
        case .array(let items): return fields(of: items)
        case .anyOf(let options): return options.flatMap { fields(of: $0) }
        default: return []
        }
    }

    /// The type as help says it: a list says what it holds.
    static func typeDescription(_ schema: Schema) -> String {
        switch schema.kind {
        case .array(let items): return "a list of \(plural(items))"
        case .anyOf(let options):
            // Alternatives that read the same (two object shapes are both "an object") are named once.
            var names: [String] = []
            for name in options.map(typeDescription) where !names.contains(name) { names.append(name) }
            return names.joined(separator: " or ")
        default: return schema.typeDescription
        }
    }

    static func plural(_ schema: Schema) -> String {
        switch schema.kind {
        case .string:
            if let values = schema.enumValues { return "strings (\(values.joined(separator: "|")))" }
            switch schema.format {
            case .duration?: return "duration strings"
            case .dateTime?: return "RFC 3339 timestamps"
            case .id?: return "ids"
            case nil: return "strings"
            }
        case .integer: return "integers"
        case .number: return "numbers"
        case .boolean: return "booleans"
        case .array(let items): return "lists of \(plural(items))"
        case .object: return "objects"
        case .anyOf(let options): return options.map(plural).joined(separator: " or ")
        case .any: return "JSON values"
        case .null: return "null"
        }
    }
}

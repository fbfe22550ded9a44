import HubCore
import HubEngine
import HubMCP
import HubTesting
import MCP
import Testing

/// The MCP door (§13): tools generated from the operation table, arguments mapped
/// to requests, answers and errors as tool results. Pure, then through an
/// in-memory MCP client against a real engine.
@Suite struct MCPToolCatalogTests {
    let catalog = MCPToolCatalog()

    @Test func everyOperationIsAToolNamedWithUnderscores() {
        let names = catalog.tools.map(\.name)
        #expect(names == OperationTable.standard.operations.map { $0.name.replacingOccurrences(of: "-", with: "_") })
        #expect(names.contains("get_status") && names.contains("claim_task"))
        #expect(names.allSatisfy { !$0.contains("-") })
    }

    @Test func inputSchemasAreTheParametersPlusWorkflowID() throws {
        for (tool, op) in zip(catalog.tools, OperationTable.standard.operations) {
            let schema = JSONValue(mcp: tool.inputSchema)
            #expect(schema["type"] == "object", "\(tool.name)")
            #expect(schema["properties"]?["workflow_id"]?["type"] == "string", "\(tool.name)")
            for property in op.schema.properties {
                #expect(
                    schema["properties"]?[property.name]?.serialized(.canonical)
                        == property.schema.json.serialized(.canonical), "\(tool.name).\(property.name)")
            }
            let required = schema["required"]?.arrayValue ?? []
            #expect(required.contains("workflow_id") == (op.scope == .workflow), "\(tool.name)")
            // get_events acknowledges with `ack`: a client must not run it as a mere read.
            #expect(tool.annotations.readOnlyHint == (op.readOnly && tool.name != "get_events"), "\(tool.name)")
        }
    }

    /// Every hub tool said workflow_id would "limit the operation to this workflow", also those
    /// it narrows nothing for (§17): each says what it does for that operation.
    @Test func workflowIDIsDescribedAsWhatItDoesForEachOperation() throws {
        var descriptions: [String: String] = [:]
        for tool in catalog.tools {
            let schema = JSONValue(mcp: tool.inputSchema)
            descriptions[tool.name] = schema["properties"]?["workflow_id"]?["description"]?.stringValue
        }
        let narrowing = [
            "claim_task": "tasks", "get_events": "events", "subscribe_event": "events", "replay_events": "events",
            "get_metrics": "workflow_efficiency", "allocate_resources": "allocation",
            "configure_batching": "own", "configure_persistence": "own",
        ]
        for (tool, word) in narrowing {
            let text = try #require(descriptions[tool], "\(tool)")
            #expect(text.contains(word) && !text.contains("narrows nothing"), "\(tool): \(text)")
        }
        for tool in [
            "list_workflows", "monitor_pool", "register_agent", "deregister_agent", "heartbeat", "issue_token",
            "enable_async_processing", "optimize_subscriptions",
        ] {
            let text = try #require(descriptions[tool], "\(tool)")
            #expect(text.contains("narrows nothing"), "\(tool): \(text)")
            #expect(text.contains("coordination-hub <id> \(tool.replacingOccurrences(of: "_", with: "-"))"))
        }
        #expect(!descriptions.values.contains { $0.contains("limit the operation to this workflow") })
        #expect(descriptions["pause"] == "The workflow to act on.")
        // help and the OpenAPI document say the same.
        let help = HelpText.operation(try #require(OperationTable.standard["monitor-pool"]))
        #expect(help.contains("Workflow id (optional"), "\(help)")
        #expect(help.contains("narrows nothing"), "\(help)")
    }

    @Test func argumentsBecomeTheRequest() throws {
        let request = try catalog.request(
            for: .init(name: "claim_task", arguments: ["workflow_id": "wf_1", "agent_id": "a1", "max_tasks": 2])
        ).get()
        #expect(request.operation == "claim-task")
        #expect(request.workflowID == "wf_1")
        #expect(request.parameters == ["agent_id": "a1", "max_tasks": 2])
    }

    @Test func aWorkflowToolWithoutWorkflowIDIsInvalidArguments() {
        for arguments: [String: Value]? in [nil, [:], ["workflow_id": .null], ["reason": "x"]] {
            guard case .failure(let error) = catalog.request(for: .init(name: "pause", arguments: arguments)) else {
                Issue.record("pause without workflow_id was accepted")
                continue
            }
            #expect(error.code == .invalidArguments)
        }
        guard case .failure(let wrongType) = catalog.request(for: .init(name: "pause", arguments: ["workflow_id": 7]))
        else { return #expect(Bool(false)) }
        // As the command line and HTTP answer it (it was INVALID_ARGUMENTS here alone).
        #expect(wrongType.code == .invalidParameters)
        #expect(wrongType.context?["field"] == "workflow_id")
        #expect(wrongType.message.contains("string"))
    }

    @Test func unknownToolsAndDashedNamesAreNotFound() {
        for name in ["get-status", "get_statu", "", "drop_tables"] {
            guard case .failure(let error) = catalog.request(for: .init(name: name, arguments: [:])) else {
                Issue.record("\(name) was accepted")
                continue
            }
            #expect(error.code == .operationNotFound, "\(name)")
        }
        guard case .failure(let near) = catalog.request(for: .init(name: "get_statu")) else { return }
        #expect(near.recoverySuggestions.first == "Did you mean 'get_status'?")
    }

    @Test func valuesRoundTrip() {
        let json: HubCore.JSONValue = [
            "a": 1, "b": 2.5, "c": "x", "d": true, "e": .null, "f": [1, "two", ["three": 3]],
        ]
        #expect(JSONValue(mcp: json.mcpValueForTesting) == json)
    }

    /// The whole door: an MCP client lists the tools and drives a workflow on a real engine.
    @Test func aClientDrivesAWorkflowThroughTheServer() async throws {
        let t = try TestHub()
        defer { t.remove() }
        let (clientSide, serverSide) = await InMemoryTransport.createConnectedPair()
        let server = await HubMCPServer(performer: t.hub, clock: t.clock).makeServer()
        try await server.start(transport: serverSide)
        let client = Client(name: "test", version: "1")
        _ = try await client.connect(transport: clientSide)

        let (tools, _) = try await client.listTools()
        #expect(tools.count == OperationTable.standard.operations.count)

        func call(_ name: String, _ arguments: [String: Value]) async throws -> (JSONValue, Bool) {
            let (content, isError) = try await client.callTool(name: name, arguments: arguments)
            guard case .text(let text, _, _)? = content.first else { throw HubError.internal("no text content") }
            return (try JSONParser.parse(bytes: Array(text.utf8)), isError ?? false)
        }
        let (created, createFailed) = try await call(
            "create",
            [
                "workflow_id": "mcp_flow", "name": "Through MCP",
                "phases": [["name": "build", "tasks": [["task_id": "t1"]]]],
            ])
        #expect(!createFailed)
        #expect(created["result"]?["status"] == "created")
        _ = try await call("start", ["workflow_id": "mcp_flow"])
        _ = try await call("register_agent", ["agent_id": "agent_1"])
        let (claimed, _) = try await call("claim_task", ["workflow_id": "mcp_flow", "agent_id": "agent_1"])
        let lease = try #require(claimed["result"]?["tasks"]?.arrayValue?.first?["lease_id"]?.stringValue)
        let (completed, completeFailed) = try await call("complete_task", ["lease_id": .string(lease)])
        #expect(!completeFailed, "\(completed)")
        let (status, _) = try await call("get_status", ["workflow_id": "mcp_flow"])
        #expect(status["result"]?["workflow_state"]?["status"] == "completed")

        // Errors are tool errors carrying the §3 error object, and change nothing.
        let (missing, missingFailed) = try await call("get_status", [:])
        #expect(missingFailed)
        #expect(missing["error"]?["code"] == "INVALID_ARGUMENTS")
        let (unknown, unknownFailed) = try await call("pause", ["workflow_id": "mcp_flow", "bogus": 1])
        #expect(unknownFailed)
        #expect(unknown["error"]?["code"] == "INVALID_PARAMETERS")
        let (after, _) = try await call("get_status", ["workflow_id": "mcp_flow"])
        #expect(
            after["result"]?["workflow_state"]?["state_version"]
                == status["result"]?["workflow_state"]?["state_version"])
        #expect(after["result"]?["workflow_state"]?["state_version"] != nil)
        // A tool call answers once: follow is refused, not answered with a snapshot.
        let (followed, followFailed) = try await call("get_events", ["follow": true])
        #expect(followFailed)
        #expect(followed["error"]?["context"]?["field"] == "follow")

        await client.disconnect()
        await server.stop()
    }
}

extension HubCore.JSONValue {
    var mcpValueForTesting: MCP.Value { MCPToolCatalog.mcpValue(of: self) }
}

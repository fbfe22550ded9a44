import HubCore
import HubEngine
import Logging
import MCP

/// `coordination-hub mcp`: the operation table as MCP tools over a transport
/// (stdio in the command). Each tool call is one `perform` on the local engine or
/// on a server (`--hub`), so the answers are the other doors' envelopes.
public struct HubMCPServer: Sendable {
    public let performer: any OperationPerformer
    public let catalog: MCPToolCatalog
    /// Runs after every call (the command line's retention check on the local store).
    public let afterCall: @Sendable () async -> Void
    /// Stamps the errors the door itself reports (unknown tool, missing workflow_id).
    public let clock: any WallClock
    /// Told when the client's input ends: calls that wait for work are cancelled then.
    public let departure = ClientDeparture()

    public init(
        performer: any OperationPerformer, table: OperationTable = .standard, clock: any WallClock = SystemClock(),
        afterCall: @escaping @Sendable () async -> Void = {}
    ) {
        self.performer = performer
        self.clock = clock
        self.catalog = MCPToolCatalog(table: table)
        self.afterCall = afterCall
    }

    /// A server with the tool handlers registered, not yet started.
    public func makeServer() async -> Server {
        let server = Server(
            name: "coordination-hub", version: Hub.version, title: "coordination-hub",
            instructions: """
                Workflow coordination: workflows of phases and tasks, an agent pool that claims tasks \
                through leases, durable events, and checkpoints. Every tool answers the hub's JSON envelope \
                ({"status": "success"|"error", "result"|"error", "next_steps"}); workflow tools need workflow_id.
                """,
            capabilities: .init(tools: .init(listChanged: false)))
        let tools = catalog.tools
        let catalog = self.catalog
        let performer = self.performer
        let afterCall = self.afterCall
        let clock = self.clock
        let departure = self.departure
        await server.withMethodHandler(ListTools.self) { _ in .init(tools: tools) }
        await server.withMethodHandler(CallTool.self) { call in
            switch catalog.request(for: call) {
            case .failure(let error):
                let response = OperationResponse.failure(
                    request: OperationRequest(
                        workflowID: nil, operation: call.name.replacingOccurrences(of: "_", with: "-")),
                    error: error, timestamp: clock.nowMilliseconds())
                return MCPToolCatalog.result(response)
            case .success(let request):
                if let refusal = request.unfollowable(
                    instead: "call get_events again with after_sequence set to the last sequence you saw")
                {
                    return MCPToolCatalog.result(
                        OperationResponse.failure(request: request, error: refusal, timestamp: clock.nowMilliseconds()))
                }
                let response: OperationResponse
                if request.waitsForWork {
                    // A claim that waits for work ends when the client's input does, before it
                    // takes a task nobody will read the answer of.
                    (response, _) = await departure.cancellingOnDeparture { await performer.perform(request) }
                } else {
                    response = await performer.perform(request)
                }
                await afterCall()
                return MCPToolCatalog.result(response)
            }
        }
        return server
    }

    /// Serves over `transport` until its input ends (the client closed it, or
    /// ``StdioLineTransport/endInput()`` on a signal), then answers every request already
    /// read before it stops: the SDK answers each in a task of its own, which its loop
    /// does not wait for.
    public func run(transport: StdioLineTransport) async throws {
        let server = await makeServer()
        try await server.start(transport: transport)
        await server.waitUntilCompleted()
        departure.happened()
        await transport.drained()
        await server.stop()
    }
}

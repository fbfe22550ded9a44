import HubCore
import HubEngine
import HubMCP
import MCP

extension CommandLineTool {
    /// `mcp`: the MCP server on standard input and output until the client closes
    /// its end. Works on the local store, or with `--hub` against a server. Standard
    /// output carries only the protocol; the few lines of its own go to standard error.
    func runMCP(invocation: Invocation, pretty: Bool) async -> Int32 {
        let stateDirectory = Paths.absolute(
            invocation.stateDirectory ?? environment["COORDINATION_HUB_STATE_DIR"] ?? ".claude/coordination",
            relativeTo: workingDirectory)
        let performer: any OperationPerformer
        var localHub: Hub?
        var remoteHub: RemoteHub?
        do {
            if let url = invocation.hubURL ?? environment["COORDINATION_HUB_URL"] {
                let remote = try RemoteHub(url: url, token: invocation.token ?? environment["COORDINATION_HUB_TOKEN"])
                (performer, remoteHub) = (remote, remote)
            } else {
                let local = try openHub(stateDirectory: stateDirectory, overrides: invocation.overrides, pooled: true)
                (performer, localHub) = (local, local)
            }
        } catch let error as HubError {
            return emitError(error, operation: "mcp", workflowID: nil, pretty: pretty, exit: 1)
        } catch {
            return emitError(.internal("\(error)"), operation: "mcp", workflowID: nil, pretty: pretty, exit: 1)
        }
        // On the local store retention holds as it does for the command line: applied when due after a call.
        let hubForRetention = localHub
        let server = HubMCPServer(performer: performer, clock: clock) {
            _ = try? await hubForRetention?.enforceRetention()
        }
        standardError.write(
            "coordination-hub: MCP server on stdio ("
                + (remoteHub.map { "hub \($0.base)" } ?? "state directory \(stateDirectory)") + ")\n")
        var status: Int32 = 0
        do {
            try await server.run(transport: StdioTransport())
        } catch {
            standardError.write("coordination-hub: the MCP server stopped: \(error)\n")
            status = 1
        }
        try? await localHub?.store.close()
        await remoteHub?.shutdown()
        return status
    }
}

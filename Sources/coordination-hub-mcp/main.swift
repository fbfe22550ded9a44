import Foundation
import HubCLI
import HubMCP
import MCP

// `coordination-hub mcp` execs this with its own arguments: the MCP server on standard
// input and output until the client closes its end. Standard output carries only the
// protocol; the few lines of its own go to standard error.
let tool = CommandLineTool()
let arguments = Array(CommandLine.arguments.dropFirst())
// `--help` and `--version` answer as `coordination-hub mcp --help` and `coordination-hub
// version` do: a server started instead waited on standard input for a client.
if arguments.contains(where: { $0 == "--help" || $0 == "-h" }) {
    exit(await tool.run(["help", "mcp"]))
}
if arguments.filter({ $0 != "--pretty" }) == ["--version"] {
    exit(await tool.run(arguments.map { $0 == "--version" ? "version" : $0 }))
}
let session: PerformerSession
do {
    session = try tool.openPerformerSession(arguments)
} catch {
    exit(tool.reportFailure(error, operation: "mcp"))
}
let server = HubMCPServer(performer: session.performer, clock: tool.clock, afterCall: session.afterCall)
tool.standardError.write("coordination-hub: MCP server on stdio (\(session.description))\n")
let transport = StdioLineTransport()
// SIGINT and SIGTERM end the input as the client closing it would: calls already read
// are answered, then the process exits.
CommandLineTool.onStopSignals { _ in Task { await transport.endInput() } }
var status: Int32 = 0
do {
    try await server.run(transport: transport)
} catch {
    tool.standardError.write("coordination-hub: the MCP server stopped: \(error)\n")
    status = 1
}
await session.close()
exit(status)

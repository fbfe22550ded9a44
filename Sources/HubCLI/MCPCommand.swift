import Foundation
import HubCore
import HubEngine

/// What an MCP server on the command line's options works with: the local engine or a
/// server (`--hub`), with what to do after each call and at the end.
public struct PerformerSession: Sendable {
    public let performer: any OperationPerformer
    /// For the one line on standard error: "state directory …" or "hub …".
    public let description: String
    /// Runs after every call (the command line's retention check on the local store).
    public let afterCall: @Sendable () async -> Void
    /// Closes the store or the client.
    public let close: @Sendable () async -> Void
}

extension CommandLineTool {
    /// The name of the companion executable that serves MCP (next to this one).
    public static let mcpExecutable = "coordination-hub-mcp"

    /// `mcp`: hands the process over to the companion executable, which has the MCP SDK.
    /// The SDK links FoundationNetworking and with it libcurl and some thirty shared
    /// libraries, whose loading would cost every other command several milliseconds at
    /// start (docs/ARCHITECTURE.md), so the main executable does not link it.
    func runMCP(arguments: [String], pretty: Bool) -> Int32 {
        // realpath(3), not Foundation's resolvingSymlinksInPath: that resolved a relative link
        // (bin/coordination-hub -> ../libexec/coordination-hub) against the working directory.
        let here = Bundle.main.executableURL.map { URL(fileURLWithPath: Paths.resolved($0.path)) }?
            .deletingLastPathComponent()
        guard let companion = here?.appendingPathComponent(Self.mcpExecutable).path,
            FileManager.default.isExecutableFile(atPath: companion)
        else {
            return emitError(
                HubError(
                    .internal, "The MCP server, \(Self.mcpExecutable), is not next to coordination-hub",
                    details: "It is built with the rest: swift build [-c release] builds both executables.",
                    suggestions: ["Run 'swift build -c release' and use the binaries from .build/release"]),
                operation: "mcp", workflowID: nil, pretty: pretty, exit: 1)
        }
        let error = Platform.replaceProcess(
            with: companion, arguments: [companion] + arguments, environment: environment)
        return emitError(
            HubError(.internal, "Could not start \(companion): \(String(cString: strerror(error)))"),
            operation: "mcp", workflowID: nil, pretty: pretty, exit: 1)
    }

    /// Reads the command line of `coordination-hub-mcp` (the same global options as
    /// `coordination-hub`, with `mcp` or nothing as its words) and opens what it names.
    public func openPerformerSession(_ arguments: [String]) throws(HubError) -> PerformerSession {
        let invocation = try Invocation(arguments: arguments)
        guard invocation.words.isEmpty || invocation.words == ["mcp"] else {
            throw HubError(
                .invalidArguments, "Unexpected arguments: \(invocation.words.joined(separator: " ").prefix(128))",
                details: "Usage: coordination-hub mcp [--state-dir DIR] [--hub URL] [--token T] [--set KEY=VALUE]")
        }
        let stateDirectory = Paths.absolute(
            invocation.stateDirectory ?? environment["COORDINATION_HUB_STATE_DIR"] ?? ".claude/coordination",
            relativeTo: workingDirectory)
        let url = invocation.hubURL ?? environment["COORDINATION_HUB_URL"]
        if let refusal = CommandLineTool.refuseMisplacedOptions(invocation, remote: url != nil) { throw refusal }
        if let url {
            let remote = try RemoteHub(url: url, token: invocation.token ?? environment["COORDINATION_HUB_TOKEN"])
            return PerformerSession(
                performer: remote, description: "hub \(remote.shown)", afterCall: {}, close: { await remote.shutdown() }
            )
        }
        let hub: Hub
        do {
            hub = try openHub(stateDirectory: stateDirectory, overrides: invocation.overrides, pooled: true)
        } catch let error as HubError {
            throw error
        } catch {
            throw HubError.internal("\(error)")
        }
        return PerformerSession(
            performer: hub, description: "state directory \(stateDirectory)",
            // Retention holds as it does for the command line: applied when due after a call, and
            // not by a retention period given to this process only (--set).
            afterCall: { [oneCall = invocation.setsEventRetention] in
                if !oneCall { _ = try? await hub.enforceRetention() }
            }, close: { try? await hub.store.close() })
    }

    /// Prints an error envelope for a command that failed before it could start.
    public func reportFailure(_ error: HubError, operation: String) -> Int32 {
        emitError(
            error, operation: operation, workflowID: nil, pretty: outputIsTerminal, exit: Self.exitStatus(error.code))
    }
}

import Foundation
import HubCore
import HubEngine

/// Reads `agent --id ID --roles a,b --max-tasks N [--workflow ID] [--idle-delay 500ms] [--state-dir DIR] [-- command …]`.
struct AgentOptionsParser {
    var options: AgentRunner.Options
    var stateDirectory: String?
    /// `--hub URL`: work through a running server.
    var hub: String?
    var token: String?

    static let usage = """
        coordination-hub agent --id ID [--roles ROLE,…] [--max-tasks N] [--workflow ID] [--idle-delay 500ms] [--hub URL] [--token T] [-- command …]
        """

    init(_ arguments: [String]) throws(HubError) {
        var id: String?
        var roles: [String] = []
        var maxTasks = 1
        var workflowID: String?
        var idleDelay = HubDuration(milliseconds: 500)
        var command: [String] = []
        var state: String?
        var hubURL: String?
        var tokenValue: String?
        var i = 0
        func value(_ name: String) throws(HubError) -> String {
            i += 1
            guard i < arguments.count else {
                throw HubError(.invalidArguments, "\(name) needs a value", details: Self.usage)
            }
            return arguments[i]
        }
        while i < arguments.count {
            let arg = arguments[i]
            switch arg {
            case "--":
                command = Array(arguments[(i + 1)...])
                i = arguments.count
                continue
            case "--id": id = try value(arg)
            case "--roles":
                roles = try value(arg).split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty }
            case "--max-tasks":
                let text = try value(arg)
                guard let n = Int(text), (1...100).contains(n) else {
                    throw HubError(
                        .invalidArguments, "--max-tasks must be a whole number from 1 to 100, got \(text.prefix(32))")
                }
                maxTasks = n
            case "--workflow": workflowID = try value(arg)
            case "--idle-delay":
                let text = try value(arg)
                guard let d = HubDuration(parsing: text), d.milliseconds >= 10 else {
                    throw HubError(
                        .invalidArguments, "--idle-delay must be a duration of at least 10ms, got \(text.prefix(32))")
                }
                idleDelay = d
            case "--state-dir": state = try value(arg)
            case "--hub": hubURL = try value(arg)
            case "--token": tokenValue = try value(arg)
            default:
                throw HubError(.invalidArguments, "Unknown agent option \(arg.prefix(64))", details: Self.usage)
            }
            i += 1
        }
        guard let id else { throw HubError(.invalidArguments, "agent needs --id", details: Self.usage) }
        if let problem = Identifier.problem(with: id) {
            throw HubError(.invalidArguments, "--id \(id.prefix(64)) \(problem)", details: Self.usage)
        }
        // A malformed id would only ever be refused by the hub, claim after claim.
        if let workflowID, let problem = Identifier.problem(with: workflowID) {
            throw HubError(.invalidArguments, "--workflow \(workflowID.prefix(64)) \(problem)", details: Self.usage)
        }
        options = AgentRunner.Options(
            agentID: id, roles: roles, maxTasks: maxTasks, workflowID: workflowID, command: command,
            idleDelay: idleDelay)
        stateDirectory = state
        hub = hubURL
        token = tokenValue
    }
}

import HubCore
import HubEngine
import HubTesting
import Testing

/// A task's fields are documented where people look (`help create`, `help add-tasks`), from
/// the same schema as MCP and OpenAPI; the two `evidence.commit`s are told apart.
@Suite struct TaskFieldsHelpTests {
    static let taskFields = [
        "task_id", "description", "role", "depends_on", "files", "resources", "priority", "estimate", "timeout",
        "max_retries", "command", "payload", "evidence", "risky",
    ]

    /// The names listed one level under `task_id`'s line, at its indentation.
    func fieldsBeside(_ first: String, in help: String) throws -> [String] {
        let lines = help.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func indent(_ line: String) -> Int { line.prefix { $0 == " " }.count }
        let start = try #require(lines.firstIndex { $0.trimmingPrefix(while: { $0 == " " }).hasPrefix(first + " ") })
        let level = indent(lines[start])
        var names: [String] = []
        for line in lines[start...] {
            if line.isEmpty || indent(line) < level { break }
            guard indent(line) == level else { continue }
            let name = line.trimmingPrefix(while: { $0 == " " }).prefix { $0 != ":" && $0 != " " }
            names.append(String(name))
        }
        return names
    }

    @Test(arguments: ["create", "add-tasks"])
    func helpListsEveryFieldOfATask(_ name: String) throws {
        let help = HelpText.operation(try #require(OperationTable.standard[name]))
        let fields = try fieldsBeside("task_id", in: help)
        for field in Self.taskFields { #expect(fields.contains(field), "\(field) in \(fields)") }
        #expect(help.contains("check_command"))
        #expect(help.contains(#"{"commit": true}"#))
    }

    @Test func helpOfCompleteTaskShowsTheCommitIdSide() throws {
        let help = HelpText.operation(try #require(OperationTable.standard["complete-task"]))
        #expect(help.contains(#"{"commit": "<sha>"}"#))
    }

    @Test func aCommitIdInATasksEvidenceSaysToWriteTrue() async throws {
        let t = try TestHub()
        let refused = await t.run(
            "w1", "create",
            #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1", "evidence": {"commit": "deadbeef"}}]}]}"#)
        #expect(refused.errorCode == "INVALID_PARAMETERS")
        #expect(refused.error?.context?["field"] == "phases[0].tasks[0].evidence.commit")
        #expect(refused.error?.message.contains(#"{"commit": true}"#) == true, "\(refused.json)")
    }

    @Test func trueAsCompleteTasksCommitSaysToSendTheID() async throws {
        let t = try TestHub()
        let refused = await t.run(nil, "complete-task", #"{"lease_id": "lease_x", "evidence": {"commit": true}}"#)
        #expect(refused.errorCode == "INVALID_PARAMETERS")
        #expect(refused.error?.message.contains(#"{"commit": "<sha>"}"#) == true, "\(refused.json)")
    }
}

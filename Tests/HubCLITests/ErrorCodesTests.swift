import Foundation
import HubCore
import HubTesting
import Testing

/// Every error code the command line produces today, with its exit status, and the
/// promise behind each: a refused request changes nothing in the store.
@Suite struct ErrorCodesTests {
    /// A sandbox holding workflow `wf` (status `created`, version 1).
    static func sandbox(_ label: String) throws -> CLISandbox {
        let hub = try CLISandbox(label)
        try hub.succeed("wf", "create", #"{"name": "Original", "phases": ["one", "two"]}"#)
        return hub
    }

    static let unreadableCommandLines: [[String]] = [
        ["wf", "creat", "{}"],  // unknown operation
        ["create", "{}"],  // missing workflow id
        ["wf", "start", "@missing.json"],  // unreadable @file
        ["wf", "start", #"{"failure_tolerance": "#],  // malformed JSON
        ["wf", "start", "[1]"],  // not an object
        ["wf", "start", #""text""#],  // not an object
        ["--bogus", "wf", "get-status"],  // unknown option
        ["wf", "start", "{}", "extra"],  // too many words
        ["wf"],  // no operation
        [],  // nothing at all
        ["wf", "get-status", "--state-dir"],  // option without its value
        ["--state-dir=", "wf", "get-status"],  // an empty state directory
        // --set through a server, whose configuration applies: it was dropped without a word
        ["--hub", "http://127.0.0.1:9", "--set", "heartbeat_interval=7s", "monitor-pool"],
        // The agent runner and the MCP server read the same options: exit 2 too (was 1).
        ["agent", "--id", "x", "--hub", "notaurl"], ["mcp", "--hub", "notaurl"],
    ]

    @Test(arguments: unreadableCommandLines)
    func aCommandLineThatCannotBeReadIsInvalidArgumentsWithExitStatus2(_ arguments: [String]) throws {
        let hub = try Self.sandbox("args")
        defer { hub.remove() }
        try hub.expectUnchanged {
            try hub.fail(arguments, code: "INVALID_ARGUMENTS", exit: 2)
        }
    }

    /// `mcp create '{…}'` was read as an operation on a workflow named mcp (INVALID_WORKFLOW_ID),
    /// `mcp foo` as an unknown operation: the command takes options only, and says so.
    @Test(arguments: [["mcp", "create", #"{"phases": ["a"]}"#], ["mcp", "foo"], ["openapi", "x"]])
    func wordsAfterACommandThatTakesNoneSayWhatItTakes(_ arguments: [String]) throws {
        let hub = try Self.sandbox("args-command-words")
        defer { hub.remove() }
        try hub.expectUnchanged {
            let error = try hub.fail(arguments, code: "INVALID_ARGUMENTS", exit: 2)
            let message = error["message"]?.stringValue ?? ""
            #expect(message.hasPrefix("\(arguments[0]) takes no arguments"), "\(message)")
        }
    }

    @Test func anUnknownOperationSuggestsTheNearestOne() throws {
        let hub = try Self.sandbox("args-suggest")
        defer { hub.remove() }
        let outcome = try hub.run("wf", "creat", "{}")
        #expect(outcome.json["recovery_suggestions"]?.strings.contains("Did you mean 'create'?") == true)
        // The envelope names the words as they were typed: the operation and the workflow.
        #expect(outcome.json["operation"] == "creat")
        #expect(outcome.json["workflow_id"] == "wf")
        // So does an option that cannot be read, wherever it stands (it named nothing before).
        for arguments in [
            ["--bogus", "wf", "get-status"], ["wf", "get-status", "--bogus", "{}"],
            ["wf", "get-status", "--state-dir"],
        ] {
            let json = try hub.runner.run(arguments).json
            #expect(json["operation"] == "get-status", "\(arguments)")
            #expect(json["workflow_id"] == "wf", "\(arguments)")
        }
        #expect(try hub.run("--bogus", "list-workflows").json["operation"] == "list-workflows")
        // A workflow id alone is the workflow, with no operation (it was named as the operation).
        let alone = try hub.run("--state-dir", "x", "wf1").json
        #expect(alone["operation"] == "")
        #expect(alone["workflow_id"] == "wf1")
        #expect(try hub.run("--request", "-", "--bogus").json["operation"] == "request")
    }

    static let invalidParameters: [(arguments: [String], field: String)] = [
        (["fresh", "create", #"{"phases": ["a"], "timout": "2h"}"#], "timout"),
        (["fresh", "create", #"{"phases": "a"}"#], "phases"),
        (["fresh", "create", #"{"phases": ["a"], "timeout": "soon"}"#], "timeout"),
        (["fresh", "create", #"{"name": "no phases"}"#], "phases"),
        (["fresh", "create", #"{"phases": ["a"], "workspace": "/nonexistent/dir"}"#], "workspace"),
        (["fresh", "create", #"{"phases": ["a"], "workspace": "/etc/passwd"}"#], "workspace"),
        (["wf", "start", #"{"failure_tolerance": "extreme"}"#], "failure_tolerance"),
        (["wf", "start", #"{"checkpoint_interval": 15}"#], "checkpoint_interval"),
        (["wf", "get-status", #"{"recent_events": -1}"#], "recent_events"),
        (["wf", "add-tasks", #"{"tasks": [{"task_id": "a", "phase": "nine"}]}"#], "tasks[0].phase"),
        (["wf", "add-tasks", #"{"tasks": [{"task_id": "../a"}]}"#], "tasks[0].task_id"),
        (["wf", "add-tasks", #"{"tasks": [{"task_id": "e", "evidence": {"files": ["../x"]}}]}"#], "evidence.files"),
        (
            [
                "fresh", "create",
                #"{"phases": [{"name": "p", "tasks": [{"task_id": "e", "evidence": {"files": ["/etc/passwd"]}}]}]}"#,
            ], "evidence.files"
        ),
        (["wf", "add-tasks", #"{"tasks": [{"task_id": "f", "files": ["../../etc/passwd"]}]}"#], "files"),
        (["wf", "add-tasks", #"{"tasks": [{"task_id": "f", "files": ["src/../.."]}]}"#], "files"),
        (
            [
                "fresh", "create",
                #"{"phases": [{"name": "p", "tasks": [{"task_id": "f", "files": ["/etc/passwd"]}]}]}"#,
            ],
            "files"
        ),
    ]

    @Test(arguments: invalidParameters)
    func aBadParameterIsInvalidParametersNamingTheField(_ arguments: [String], _ field: String) throws {
        let hub = try Self.sandbox("params")
        defer { hub.remove() }
        try hub.expectUnchanged {
            let error = try hub.fail(arguments, code: "INVALID_PARAMETERS", exit: 1)
            #expect(error["context"]?["field"]?.stringValue == field, "\(error)")
            #expect(error["message"]?.stringValue?.contains(field) == true)
        }
    }

    @Test func anUnknownParameterIsRefusedWithADidYouMeanSuggestion() throws {
        let hub = try Self.sandbox("params-typo")
        defer { hub.remove() }
        let error = try hub.fail(
            ["wf", "get-status", #"{"include_metric": true}"#], code: "INVALID_PARAMETERS", exit: 1)
        #expect(error["message"]?.stringValue?.contains("did you mean 'include_metrics'") == true, "\(error)")
    }

    @Test func createRejectsADependencyCycleNamingTheTasks() throws {
        let hub = try Self.sandbox("params-cycle")
        defer { hub.remove() }
        try hub.expectUnchanged {
            let error = try hub.fail(
                [
                    "loop", "create",
                    #"""
                    {"phases": [{"name": "p", "tasks": [{"task_id": "x", "depends_on": ["y"]},
                                                        {"task_id": "y", "depends_on": ["x"]}]}]}
                    """#,
                ], code: "INVALID_PARAMETERS", exit: 1)
            #expect(Set(error["context"]?["tasks"]?.strings ?? []) == ["x", "y"], "\(error)")
        }
        let error = try hub.fail(
            ["wf", "add-tasks", #"{"tasks": [{"task_id": "d"}, {"task_id": "d"}]}"#], code: "INVALID_PARAMETERS",
            exit: 1)
        #expect(error["message"]?.stringValue?.contains("d") == true)
    }

    static let invalidIDs: [[String]] = [
        ["../x", "create", "{}"], ["a/b", "get-status"], ["", "create", "{}"],
        [String(repeating: "w", count: 200), "create", #"{"phases": ["a"]}"#], ["pause", "create", "{}"],
        ["wf.1", "get-status"], ["-lead", "start"], ["list-workflows", "get-status"],
    ]

    @Test(arguments: invalidIDs)
    func aWorkflowIDOutsideTheRuleIsInvalidWorkflowIDWithExitStatus1(_ arguments: [String]) throws {
        let hub = try Self.sandbox("ids")
        defer { hub.remove() }
        try hub.expectUnchanged {
            try hub.fail(arguments, code: "INVALID_WORKFLOW_ID", exit: 1)
        }
        // Refused before the store is opened: in an empty directory nothing is created.
        let pristine = try CLISandbox("ids-pristine")
        defer { pristine.remove() }
        try pristine.fail(arguments, code: "INVALID_WORKFLOW_ID", exit: 1)
        #expect(!pristine.exists(pristine.stateDirectory), "an invalid id must not create the state directory")
    }

    @Test func anUnknownWorkflowIsWorkflowNotFoundForWorkflowAndHubOperations() throws {
        let hub = try Self.sandbox("not-found")
        defer { hub.remove() }
        try hub.expectUnchanged {
            for arguments in [
                ["nope", "get-status"], ["nope", "start"], ["nope", "add-tasks", #"{"tasks": [{"task_id": "a"}]}"#],
                ["nope", "save-state"], ["nope", "get-events"],
            ] {
                try hub.fail(arguments, code: "WORKFLOW_NOT_FOUND", exit: 1)
            }
        }
        let outcome = try hub.run("nope", "start")
        #expect(outcome.json["recovery_suggestions"]?.strings.contains { $0.contains("list-workflows") } == true)
    }

    @Test func creatingATakenIDIsWorkflowExistsAndKeepsTheOriginal() throws {
        let hub = try Self.sandbox("exists")
        defer { hub.remove() }
        try hub.expectUnchanged {
            try hub.fail(["wf", "create", #"{"name": "Impostor", "phases": ["x"]}"#], code: "WORKFLOW_EXISTS", exit: 1)
        }
        let state = try hub.workflowState("wf")
        #expect(state["name"]?.stringValue == "Original")
        #expect(state["phases"]?.arrayValue?.count == 2)
    }

    @Test func aLifecycleStepFromTheWrongStatusIsInvalidTransitionListingWhatIsAllowed() throws {
        let hub = try Self.sandbox("transition")
        defer { hub.remove() }
        try hub.expectUnchanged {
            let error = try hub.fail(["wf", "pause"], code: "INVALID_TRANSITION", exit: 1)
            #expect(error["context"]?["current_status"]?.stringValue == "created")
            #expect(error["context"]?["allowed_operations"]?.strings == ["start", "cancel"])
            #expect(error["message"]?.stringValue?.contains("start, cancel") == true)
        }
        try hub.succeed("wf", "start")
        try hub.expectUnchanged {
            let error = try hub.fail(["wf", "resume"], code: "INVALID_TRANSITION", exit: 1)
            #expect(error["context"]?["current_status"]?.stringValue == "running")
            #expect(error["context"]?["allowed_operations"]?.strings == ["pause", "complete", "fail", "cancel"])
            try hub.fail(["wf", "start"], code: "INVALID_TRANSITION", exit: 1)
            try hub.fail(["wf", "cleanup"], code: "INVALID_TRANSITION", exit: 1)
        }
    }

    @Test func completingWithOpenWorkIsWorkflowIncompleteListingTheRemainingTasks() throws {
        let hub = try Self.sandbox("incomplete")
        defer { hub.remove() }
        try hub.succeed("wf", "start")
        try hub.succeed(
            "wf", "add-tasks", #"{"tasks": [{"task_id": "t1"}, {"task_id": "t2"}, {"task_id": "t3", "phase": 2}]}"#)
        try hub.expectUnchanged {
            let complete = try hub.fail(["wf", "complete"], code: "WORKFLOW_INCOMPLETE", exit: 1)
            #expect(Set(complete["context"]?["remaining_tasks"]?.strings ?? []) == ["t1", "t2", "t3"])
            let phase = try hub.fail(["wf", "complete-phase"], code: "WORKFLOW_INCOMPLETE", exit: 1)
            #expect(Set(phase["context"]?["remaining_tasks"]?.strings ?? []) == ["t1", "t2"])
            #expect(phase["context"]?["phase"]?.intValue == 1)
        }
        // With force the same request goes through and skips what remains.
        let forced = try hub.succeed("wf", "complete", #"{"force": true}"#)
        #expect(Set(forced["skipped_tasks"]?.strings ?? []) == ["t1", "t2", "t3"])
    }

    @Test func aStaleIfVersionIsVersionConflictAndTheCurrentOneIsAccepted() throws {
        let hub = try Self.sandbox("version")
        defer { hub.remove() }
        try hub.expectUnchanged {
            let error = try hub.fail(["wf", "start", #"{"if_version": 7}"#], code: "VERSION_CONFLICT", exit: 1)
            #expect(error["context"]?["current_version"]?.intValue == 1)
            #expect(error["context"]?["expected_version"]?.intValue == 7)
        }
        let started = try hub.succeed("wf", "start", #"{"if_version": 1}"#)
        #expect(started["state_version"]?.intValue == 2)
        try hub.expectUnchanged {
            try hub.fail(["wf", "pause", #"{"if_version": 1}"#], code: "VERSION_CONFLICT", exit: 1)
        }
    }
}

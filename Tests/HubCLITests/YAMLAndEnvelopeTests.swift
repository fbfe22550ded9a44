import Foundation
import HubCLI
import HubCore
import HubEngine
import HubTesting
import Testing

/// The other ways in: parameters from YAML, JSON files and standard input, the
/// request envelope, configuration layers, help, version and `--pretty`.
@Suite struct YAMLAndEnvelopeTests {
    static let yaml = """
        # The seed's create, written as YAML.
        name: From YAML
        phases:
          - setup
          - name: build
            tasks:
              - task_id: compile
                estimate: 10m
                payload:
                  nested_key: [1, 2]
                  flag_on: true
        agent_requirements:
          min_agents: 2
          specialized_roles: [code, test]
        timeout: 90m
        priority: low
        """

    @Test func parametersFromAYAMLFileCreateTheSameWorkflowAsJSON() throws {
        let hub = try CLISandbox("yaml")
        defer { hub.remove() }
        try hub.write(Self.yaml, to: hub.directory.file("create.yaml"))
        try hub.write(Self.yaml, to: hub.directory.file("create.yml"))
        try hub.succeed("from_yaml", "create", "@create.yaml")
        try hub.succeed("from_yml", "create", "@\(hub.directory.file("create.yml"))")
        for id in ["from_yaml", "from_yml"] {
            let state = try hub.workflowState(id)
            #expect(state["name"]?.stringValue == "From YAML")
            #expect(state["priority"]?.stringValue == "low")
            #expect(state["configuration"]?["timeout"]?.stringValue == "1h 30m")
            #expect(state["agent_requirements"]?["min_agents"]?.intValue == 2)
            #expect(state["agent_requirements"]?["specialized_roles"]?.strings == ["code", "test"])
            let phases = state["phases"]?.arrayValue ?? []
            #expect(phases.compactMap { $0["name"]?.stringValue } == ["setup", "build"])
            let task = try #require(phases.last?["tasks"]?.arrayValue?.first)
            #expect(task["task_id"]?.stringValue == "compile")
            #expect(task["estimate"]?.stringValue == "10m")
            // Free JSON keeps its keys as written (no snake_case → camelCase rewriting), in the file's order.
            let expected: JSONValue = ["nested_key": [1, 2], "flag_on": true]
            #expect(task["payload"] == expected, "\(task["payload"] ?? .null)")
        }
    }

    @Test func unreadableYAMLIsInvalidArguments() throws {
        let hub = try CLISandbox("yaml-bad")
        defer { hub.remove() }
        try hub.write("phases: [unclosed\n  - : :", to: hub.directory.file("bad.yaml"))
        try hub.write("- just\n- a list\n", to: hub.directory.file("list.yaml"))
        try hub.fail(["wf", "create", "@bad.yaml"], code: "INVALID_ARGUMENTS", exit: 2)
        try hub.fail(["wf", "create", "@list.yaml"], code: "INVALID_ARGUMENTS", exit: 2)
        #expect(!hub.exists(hub.stateDirectory))
    }

    /// Swift's `CommandLine.arguments` turns bytes that are not UTF-8 into U+FFFD, so a
    /// description in Latin-1 was stored altered without a word.
    @Test func anArgumentThatIsNotUTF8IsRefusedNotRepaired() throws {
        let hub = try CLISandbox("argv-latin1")
        defer { hub.remove() }
        let output = Pipe()
        // printf writes the byte 0xE9 (é in Latin-1), which a Swift string cannot hold.
        let process = try SpawnedProcess.spawn(
            "/bin/sh",
            arguments: ["-c", #"exec "$0" wf create "$(printf '{"description": "caf\351"}')""#, hub.runner.executable],
            environment: hub.runner.environment, directory: hub.directory.path,
            standardOutput: .descriptor(output.fileHandleForWriting.fileDescriptor))
        try output.fileHandleForWriting.close()
        let stdout = output.fileHandleForReading.readToEndRetryingInterrupts(limit: 1 << 20)
        process.waitUntilExit()
        let response = try JSONParser.parse(bytes: stdout)
        #expect(process.terminationStatus == 2)
        #expect(response["error"]?["code"] == "INVALID_ARGUMENTS", "\(response)")
        #expect(response["error"]?["message"]?.stringValue?.contains("Argument 3") == true, "\(response)")
        #expect(!hub.exists(hub.stateDirectory))
    }

    @Test func aYAMLAliasBombIsRefusedBeforeItExpands() throws {
        let hub = try CLISandbox("yaml-bomb")
        defer { hub.remove() }
        // Nine levels of nine aliases: 387 million strings from a few hundred bytes.
        var lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
        for (previous, name) in zip(names, names.dropFirst()) {
            lines.append(
                "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]")
        }
        lines.append("phases: [*i]")
        try hub.write(lines.joined(separator: "\n"), to: hub.directory.file("bomb.yaml"))
        let error = try hub.fail(["wf", "create", "@bomb.yaml"], code: "INVALID_ARGUMENTS", exit: 2)
        #expect(error["message"]?.stringValue?.contains("more than 1000000 values") == true)
        #expect(!hub.exists(hub.stateDirectory))
    }

    /// A YAML file that Yams' composer could not be given: an anchor chain 60,000 deep
    /// (SIGSEGV), text in UTF-16 (read as no parameters at all), an empty file (the same).
    @Test func hostileOrEmptyYAMLIsRefusedAndNothingRuns() throws {
        let hub = try CLISandbox("yaml-hostile")
        defer { hub.remove() }
        var chain = ["a0: &a0 [x]"]
        for n in 1..<60_000 { chain.append("a\(n): &a\(n) [*a\(n - 1)]") }
        try hub.write(chain.joined(separator: "\n"), to: hub.directory.file("chain.yaml"))
        let deep = try hub.fail(["wf", "create", "@chain.yaml"], code: "INVALID_ARGUMENTS", exit: 2)
        #expect(deep["message"]?.stringValue?.contains("nested more than 128 levels") == true, "\(deep)")
        var utf16: [UInt8] = [0xFF, 0xFE]
        for unit in "phases: [a]\nbogus: 1\n".utf16 { utf16 += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        try Data(utf16).write(to: URL(fileURLWithPath: hub.directory.file("utf16.yaml")))
        let encoding = try hub.fail(["wf", "create", "@utf16.yaml"], code: "INVALID_ARGUMENTS", exit: 2)
        #expect(encoding["message"]?.stringValue?.contains("not UTF-8") == true, "\(encoding)")
        try hub.write("# nothing yet\n", to: hub.directory.file("empty.yaml"))
        try hub.fail(["wf", "create", "@empty.yaml"], code: "INVALID_ARGUMENTS", exit: 2)
        #expect(!hub.exists(hub.stateDirectory))
    }

    /// The configuration file is not the command's arguments: a broken one is
    /// INVALID_PARAMETERS (exit 1, §2); one with every setting commented out sets nothing.
    @Test func aBrokenConfigurationFileStopsTheCommandAndAnEmptyOneSetsNothing() throws {
        let hub = try CLISandbox("config-broken")
        defer { hub.remove() }
        try hub.succeed("wf", "create", #"{"phases": ["a"]}"#)
        try hub.write("not json\n", to: hub.state("config.json"))
        let broken = try hub.fail(["list-workflows"], code: "INVALID_PARAMETERS", exit: 1)
        #expect(broken["message"]?.stringValue?.contains("config.json is not valid JSON") == true, "\(broken)")
        // A key given twice (one won silently), and the seed's section of the wrong type (called unknown).
        try hub.write(
            #"{"coordination_defaults": {"heartbeat_interval": "5s"}, "heartbeat_interval": "10s"}"#,
            to: hub.state("config.json"))
        let twice = try hub.fail(["list-workflows"], code: "INVALID_PARAMETERS", exit: 1)
        #expect(twice["message"]?.stringValue?.contains("both at the top level and under") == true, "\(twice)")
        try hub.write(#"{"coordination_defaults": 5}"#, to: hub.state("config.json"))
        let section = try hub.fail(["list-workflows"], code: "INVALID_PARAMETERS", exit: 1)
        #expect(section["message"]?.stringValue?.contains("must be an object of settings") == true, "\(section)")
        try FileManager.default.removeItem(atPath: hub.state("config.json"))
        try hub.write("# workflow_timeout: 45m\n", to: hub.state("config.yaml"))
        #expect(try Self.defaultTimeout(hub, id: "commented") == "4h")
    }

    @Test func parametersFromStandardInputAndFromAJSONFile() throws {
        let hub = try CLISandbox("stdin")
        defer { hub.remove() }
        try hub.succeed("from_stdin", "create", "-", stdin: #"{"name": "Piped", "phases": ["a"]}"#)
        #expect(try hub.workflowState("from_stdin")["name"]?.stringValue == "Piped")
        try hub.write(#"{"name": "Filed", "phases": ["a"]}"#, to: hub.directory.file("params.json"))
        try hub.succeed("from_file", "create", "@params.json")
        #expect(try hub.workflowState("from_file")["name"]?.stringValue == "Filed")
        try hub.fail(["broken", "create", "-"], code: "INVALID_ARGUMENTS", exit: 2, stdin: "")
        try hub.fail(["broken", "create", "-"], code: "INVALID_ARGUMENTS", exit: 2, stdin: "[]")
    }

    @Test func theRequestEnvelopeOnStandardInputRunsTheOperation() throws {
        let hub = try CLISandbox("envelope")
        defer { hub.remove() }
        let outcome = try hub.run(
            "--request", "-",
            stdin: #"{"workflow_id": "env_wf", "operation": "create", "parameters": {"phases": ["a", "b"]}}"#)
        #expect(outcome.status == 0, "\(outcome.stdout)")
        #expect(outcome.json["workflow_id"]?.stringValue == "env_wf")
        #expect(outcome.json["operation"]?.stringValue == "create")
        let listed = try hub.run("--request", "-", stdin: #"{"operation": "list-workflows"}"#)
        #expect(listed.json["workflow_id"] == .null)
        #expect(listed.json["result"]?["total"]?.intValue == 1)
        try hub.write(#"{"workflow_id": "env_wf", "operation": "start"}"#, to: hub.directory.file("start.json"))
        #expect(try hub.run("--request", "@start.json").json["result"]?["status"]?.stringValue == "running")

        try hub.expectUnchanged {
            for envelope in [
                #"{"workflow_id": "env_wf", "operation": "pause", "params": {}}"#,  // unknown key
                #"{"operation": "pause"}"#,  // workflow operation without an id
                #"{"workflow_id": "env_wf", "operation": "paws"}"#,  // unknown operation
                #"{"workflow_id": 7, "operation": "pause"}"#,  // id not a string
                #"{"workflow_id": "env_wf", "operation": "pause", "parameters": [1]}"#,  // not an object
                "not json",
            ] {
                try hub.fail(["--request", "-"], code: "INVALID_ARGUMENTS", exit: 2, stdin: envelope)
            }
            try hub.fail(["--request", "-", "env_wf", "pause"], code: "INVALID_ARGUMENTS", exit: 2, stdin: "{}")
        }
    }

    /// A refused envelope named `"operation": "request"` even when it said which operation and
    /// workflow it was for; the positional form's refusals name them.
    @Test func aRefusedEnvelopeNamesTheOperationAndWorkflowItGives() throws {
        let hub = try CLISandbox("envelope-names")
        defer { hub.remove() }
        for envelope in [
            #"{"workflow_id": "env_wf", "operation": "pause", "params": {}}"#,
            #"{"workflow_id": "env_wf", "operation": "pause", "parameters": [1]}"#,
        ] {
            let answer = try hub.run("--request", "-", stdin: envelope).json
            #expect(answer["operation"] == "pause", "\(answer)")
            #expect(answer["workflow_id"] == "env_wf", "\(answer)")
        }
        let wrongID = try hub.run("--request", "-", stdin: #"{"workflow_id": 7, "operation": "pause"}"#).json
        #expect(wrongID["operation"] == "pause")
        #expect(wrongID["workflow_id"] == .null)
        #expect(wrongID["error"]?["message"]?.stringValue?.hasSuffix("must be a string, got integer") == true)
        let noOperation = try hub.run("--request", "-", stdin: #"{"workflow_id": "env_wf", "operation": 1}"#).json
        #expect(noOperation["operation"] == "request")
        #expect(noOperation["workflow_id"] == "env_wf")
    }

    /// An envelope that is not an object was refused as "Parameters must be a JSON object":
    /// the envelope is not the parameters. The message says what it is and what it holds.
    @Test(arguments: ["[1]", #""x""#, "7", "null"])
    func anEnvelopeThatIsNotAnObjectIsNamedAsTheEnvelope(_ envelope: String) throws {
        let hub = try CLISandbox("envelope-shape")
        defer { hub.remove() }
        let error = try hub.fail(["--request", "-"], code: "INVALID_ARGUMENTS", exit: 2, stdin: envelope)
        let message = error["message"]?.stringValue ?? ""
        #expect(message.contains("request envelope must be a JSON object"), "\(message)")
        for field in ["workflow_id", "operation", "parameters"] {
            #expect(message.contains(field), "\(message)")
        }
        #expect(!message.hasPrefix("Parameters"), "\(message)")
    }

    /// The `configuration.timeout` a workflow created with no timeout gets.
    static func defaultTimeout(_ hub: CLISandbox, _ extra: [String] = [], id: String) throws -> String? {
        let outcome = try hub.runner.run(extra + [id, "create", #"{"phases": ["a"]}"#])
        #expect(outcome.status == 0, "\(outcome.stdout)")
        return try hub.workflowState(id)["configuration"]?["timeout"]?.stringValue
    }

    @Test func theWorkflowTimeoutComesFromConfigThenEnvironmentThenSetThenTheRequest() throws {
        var hub = try CLISandbox("config")
        defer { hub.remove() }
        #expect(try Self.defaultTimeout(hub, id: "builtin") == "4h")
        try hub.write(
            #"{"coordination_defaults": {"workflow_timeout": "3h"}}"#, to: hub.state("config.json"))
        #expect(try Self.defaultTimeout(hub, id: "from_file") == "3h")
        hub.runner.environment["COORDINATION_HUB_WORKFLOW_TIMEOUT"] = "5h"
        #expect(try Self.defaultTimeout(hub, id: "from_env") == "5h")
        #expect(try Self.defaultTimeout(hub, ["--set", "workflow_timeout=1h"], id: "from_flag") == "1h")
        try hub.succeed("--set", "workflow_timeout=1h", "explicit", "create", #"{"phases": ["a"], "timeout": "2h"}"#)
        #expect(try hub.workflowState("explicit")["configuration"]?["timeout"]?.stringValue == "2h")

        // A bad setting is refused, naming where it came from; nothing is created.
        let before = try hub.fingerprint()
        hub.runner.environment["COORDINATION_HUB_WORKFLOW_TIMEOUT"] = "forever"
        let error = try hub.fail(["bad_env", "create", #"{"phases": ["a"]}"#], code: "INVALID_PARAMETERS", exit: 1)
        #expect(error["message"]?.stringValue?.contains("COORDINATION_HUB_WORKFLOW_TIMEOUT") == true)
        hub.runner.environment["COORDINATION_HUB_WORKFLOW_TIMEOUT"] = nil
        let typo = try hub.fail(
            ["--set", "workflow_timout=1h", "bad_set", "create", #"{"phases": ["a"]}"#], code: "INVALID_PARAMETERS",
            exit: 1)
        #expect(typo["message"]?.stringValue?.contains("did you mean 'workflow_timeout'") == true)
        // Leases last 3 heartbeat intervals: a century-long one put their expiry past year 9999.
        let century = try hub.fail(
            ["--set", "heartbeat_interval=36500d", "register-agent", #"{"agent_id": "a"}"#],
            code: "INVALID_PARAMETERS", exit: 1)
        #expect(century["message"]?.stringValue?.contains("at most 365d") == true)
        hub.runner.environment["COORDINATION_HUB_WEBHOOK_ALLOWLIST"] = #"["example.com""#
        let unclosed = try hub.fail(["unclosed", "create", #"{"phases": ["a"]}"#], code: "INVALID_PARAMETERS", exit: 1)
        #expect(
            unclosed["message"]?.stringValue?.hasPrefix(
                "environment variable COORDINATION_HUB_WEBHOOK_ALLOWLIST is not valid JSON") == true, "\(unclosed)")
        hub.runner.environment["COORDINATION_HUB_WEBHOOK_ALLOWLIST"] = nil
        #expect(try hub.fingerprint() == before)
        // A list in the environment is JSON, as with --set: it was one host named by the whole text.
        hub.runner.environment["COORDINATION_HUB_WEBHOOK_ALLOWLIST"] = #"["example.com", "hooks.example.org"]"#
        try hub.succeed("listed", "create", #"{"phases": ["a"]}"#)
    }

    @Test func aYAMLConfigurationFileIsReadToo() throws {
        let hub = try CLISandbox("config-yaml")
        defer { hub.remove() }
        try hub.write("workflow_timeout: 45m\n", to: hub.state("config.yaml"))
        #expect(try Self.defaultTimeout(hub, id: "yaml_config") == "45m")
        // With config.json beside it, one of the two was ignored without a word.
        try hub.write(#"{"workflow_timeout": "30m"}"#, to: hub.state("config.json"))
        let error = try hub.fail(["other", "create", #"{"phases": ["a"]}"#], code: "INVALID_PARAMETERS", exit: 1)
        #expect(error["message"]?.stringValue?.contains("config.json and config.yaml") == true, "\(error)")
        try FileManager.default.removeItem(atPath: hub.state("config.json"))
        try hub.fail(["other", "get-status"], code: "WORKFLOW_NOT_FOUND", exit: 1)
    }

    /// A value out of range was told without its source ("Fix the settings in config.json" for
    /// a config.yaml) or field; a config.json that is a link to a file gone was taken for
    /// absent, the defaults silently replacing its settings; a byte-order mark was an error.
    @Test func aConfigurationProblemNamesItsSourceAndALinkToNothingIsNotIgnored() throws {
        let hub = try CLISandbox("config-sources")
        defer { hub.remove() }
        try hub.succeed("wf", "create", #"{"phases": ["a"]}"#)
        try hub.write("max_agent_pool_size: 0\n", to: hub.state("config.yaml"))
        let range = try hub.fail(
            ["--set", "event_retention=30m", "list-workflows"], code: "INVALID_PARAMETERS", exit: 1)
        let message = range["message"]?.stringValue ?? ""
        #expect(message.contains("config.yaml: max_agent_pool_size must be at least 1"), "\(range)")
        #expect(message.contains("--set event_retention: event_retention must be at least 1h"), "\(range)")
        #expect(range["context"]?["field"] == "max_agent_pool_size")
        #expect(range["details"]?.stringValue?.contains("config.yaml") == true, "\(range)")
        try FileManager.default.removeItem(atPath: hub.state("config.yaml"))
        try FileManager.default.createSymbolicLink(
            atPath: hub.state("config.json"), withDestinationPath: hub.state("shared-settings.json"))
        let dangling = try hub.fail(["list-workflows"], code: "INVALID_PARAMETERS", exit: 1)
        #expect(dangling["message"]?.stringValue?.contains("config.json") == true, "\(dangling)")
        try FileManager.default.removeItem(atPath: hub.state("config.json"))
        try hub.write("\u{FEFF}{\"workflow_timeout\": \"45m\"}", to: hub.state("config.json"))
        #expect(try Self.defaultTimeout(hub, id: "marked") == "45m")
    }

    /// `--set` is a setting for one call: a retention period given that way ran retention by it,
    /// removing the events the store's own policy keeps for everyone. That call runs none.
    @Test func aRetentionPeriodForOneCallRunsNoRetention() throws {
        let hub = try CLISandbox("config-retention")
        defer { hub.remove() }
        try hub.succeed("--set", "event_retention=2h", "wf", "create", #"{"phases": ["a"]}"#)
        let before = try hub.succeed("get-metrics")
        #expect(
            before["event_system_performance"]?["persistence_performance"]?["last_retention_at"] == .null, "\(before)")
        let after = try hub.succeed("get-metrics")
        #expect(
            after["event_system_performance"]?["persistence_performance"]?["last_retention_at"] != .null, "\(after)")
    }

    /// `event_retention: 0s` was taken, and the next retention run removed the whole event log
    /// (configure-persistence refuses under 1h); `store: mysql://x` became a SQLite file
    /// `mysql:/x` under the state directory. Both are refused, and nothing is created.
    @Test func settingsThatWouldLoseOrMisplaceStateAreRefused() throws {
        let hub = try CLISandbox("config-refused")
        defer { hub.remove() }
        // And a store named after a file the hub writes (save-state wrote the pool over the
        // database; a store named config.yaml was read as the configuration), or blank.
        let refused = [
            ("event_retention=0s", "event_retention"), ("store=mysql://x", "mysql://"),
            ("store=agent_pools/pool_assignments.json", "writes itself"), ("store=config.yaml", "writes itself"),
            ("store=./workflows/../config.json", "writes itself"), ("store= ", "'store'"),
        ]
        for (setting, named) in refused {
            let error = try hub.fail(
                ["--set", setting, "w1", "create", #"{"phases": ["a"]}"#], code: "INVALID_PARAMETERS", exit: 1)
            #expect(error["message"]?.stringValue?.contains(named) == true, "\(error)")
        }
        #expect(!hub.exists(hub.stateDirectory), "nothing was created")
    }

    @Test func theStateDirectoryComesFromTheFlagOrTheEnvironment() throws {
        var hub = try CLISandbox("state-dir")
        defer { hub.remove() }
        try hub.succeed("--state-dir", "custom", "flagged", "create", #"{"phases": ["a"]}"#)
        #expect(hub.exists(hub.directory.file("custom/hub.sqlite")))
        #expect(!hub.exists(hub.stateDirectory), "the default directory is not touched")
        try hub.fail(["flagged", "get-status"], code: "WORKFLOW_NOT_FOUND", exit: 1)
        hub.runner.environment["COORDINATION_HUB_STATE_DIR"] = hub.directory.file("custom")
        #expect(try hub.workflowState("flagged")["id"]?.stringValue == "flagged")
        try hub.succeed("--state-dir=\(hub.directory.file("custom"))", "flagged", "start")
    }

    @Test func helpListsEveryOperationAndHelpForOneShowsItsExample() throws {
        let hub = try CLISandbox("help")
        defer { hub.remove() }
        let overview = try hub.run("help")
        #expect(overview.status == 0)
        #expect(overview.stdout.contains("Usage"))
        let lines = overview.stdout.split(separator: "\n")
        for name in OperationTable.standard.names {
            // Listed whole, as a line of its own to copy from (long names were cut to 18 characters).
            #expect(lines.contains { $0.hasPrefix("  \(name) ") }, "help does not list \(name)")
        }
        // The commands that are not operations have their help too.
        for command in ["agent", "serve", "mcp", "openapi", "version"] {
            let text = try hub.run("help", command)
            #expect(text.status == 0)
            #expect(text.stdout.hasPrefix("coordination-hub \(command)"), "help \(command): \(text.stdout.prefix(200))")
        }
        #expect(try hub.run("--help").stdout == overview.stdout)
        // `serve --help` and `agent … -h` were unknown options (exit 2); they are the commands' help.
        // `mcp --help` printed the overview.
        for words in [["serve", "--help"], ["agent", "--id", "x", "-h"], ["mcp", "--help"], ["openapi", "-h"]] {
            let text = try hub.runner.run(words)
            #expect(text.status == 0, "\(words): \(text.stdout)")
            #expect(text.stdout == (try hub.run("help", words[0])).stdout)
        }

        let create = try #require(OperationTable.standard["create"])
        let one = try hub.run("help", "create")
        #expect(one.status == 0)
        #expect(one.stdout.contains(create.example.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(one.stdout.contains("Feature Implementation"), "the seed's example")
        #expect(one.stdout.contains("phases (required)"))
        #expect(try hub.run("create", "--help").stdout == one.stdout)
        try hub.fail(["help", "nosuch"], code: "INVALID_ARGUMENTS", exit: 2)
        #expect(try hub.run("w1", "create", "--help").stdout == one.stdout)
        // Not a create of a workflow named help or version, and not help or the version either.
        try hub.fail(["help", "create", #"{"phases": ["a"]}"#], code: "INVALID_ARGUMENTS", exit: 2)
        try hub.fail(["version", "create", #"{"phases": ["a"]}"#], code: "INVALID_ARGUMENTS", exit: 2)
        try hub.fail(["openapi", "create", #"{"phases": ["a"]}"#], code: "INVALID_ARGUMENTS", exit: 2)

        let version = try hub.run("version")
        #expect(version.status == 0)
        // One JSON document, the envelope, as every call but help prints (§2).
        #expect(version.json["status"] == "success", "\(version.stdout)")
        #expect(version.json["operation"] == "version")
        #expect(version.json["result"]?["name"] == "coordination-hub")
        #expect(version.json["result"]?["version"]?.stringValue == CommandLineTool.version)
        // `--version` alone was an unknown option with the operation "".
        let flag = try hub.run("--version")
        #expect(flag.status == 0 && flag.json["result"] == version.json["result"], "\(flag.stdout)")
        #expect(try hub.run("--pretty", "--version").status == 0)
        #expect(!hub.exists(hub.stateDirectory), "help and version touch no state")
    }

    @Test func prettyOutputIsIndentedJSONAndTheDefaultIsOneLine() throws {
        let hub = try CLISandbox("pretty")
        defer { hub.remove() }
        try hub.succeed("wf", "create", #"{"phases": ["a"]}"#)
        let compact = try hub.run("wf", "get-status")
        #expect(compact.stdout.split(separator: "\n").count == 1, "not a terminal: one line")
        let pretty = try hub.run("--pretty", "wf", "get-status")
        #expect(pretty.status == 0)
        #expect(pretty.stdout.split(separator: "\n").count > 20)
        #expect(pretty.stdout.contains("\n  \"status\""))
        #expect(pretty.json["result"] == compact.json["result"])
        let prettyError = try hub.run("wf", "pause", "--pretty")
        #expect(prettyError.errorCode == "INVALID_TRANSITION")
        #expect(prettyError.stdout.split(separator: "\n").count > 5)
    }
}

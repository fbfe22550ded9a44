import Foundation
import HubCore
import HubEngine
import HubServer
import HubStoreSQLite

/// The `coordination-hub` command: reads the command line, runs one operation
/// on the local store, prints one JSON document, and answers the exit status (§2).
public struct CommandLineTool: Sendable {
    /// Largest parameter document read from an argument, a file or standard input: 64 MiB.
    public static let maximumParameterBytes = 64 << 20
    public var environment: [String: String]
    public var workingDirectory: String
    public var standardOutput: any OutputSink
    public var standardError: any OutputSink
    public var standardInput: @Sendable () -> [UInt8]
    public var outputIsTerminal: Bool
    public var clock: any WallClock

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        workingDirectory: String = FileManager.default.currentDirectoryPath,
        standardOutput: any OutputSink = FileHandleSink.standardOutput,
        standardError: any OutputSink = FileHandleSink.standardError,
        standardInput: @escaping @Sendable () -> [UInt8] = {
            FileHandle.standardInput.readToEndRetryingInterrupts(limit: CommandLineTool.maximumParameterBytes)
        },
        outputIsTerminal: Bool = Platform.standardOutputIsTerminal, clock: any WallClock = SystemClock()
    ) {
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.standardInput = standardInput
        self.outputIsTerminal = outputIsTerminal
        self.clock = clock
    }

    /// The version this build reports.
    public static let version = Hub.version

    /// Runs the command of this process's own arguments and returns the exit status.
    public func runProcess() async -> Int32 {
        switch Platform.processArguments() {
        case .success(let arguments):
            return await run(arguments)
        case .failure(let failure):
            return emitError(
                HubError(
                    .invalidArguments, "Argument \(failure.position) is not valid UTF-8",
                    details: "Parameters, ids and paths are text; bytes in another encoding would be altered.",
                    suggestions: ["Convert it to UTF-8, e.g. with iconv -t UTF-8"]),
                operation: "", workflowID: nil, pretty: outputIsTerminal, exit: 2)
        }
    }

    /// The operation and workflow an error names for a command that could not be read: as
    /// typed, `<workflow-id> <operation>` unless the first word is an operation.
    static func names(ofTyped words: [String], request: Bool, table: OperationTable) -> (
        operation: String, workflowID: String?
    ) {
        if request { return ("request", nil) }
        // A command of its own (`mcp --version`) was named as a workflow id with no operation.
        if let first = words.first, ["mcp", "openapi", "version", "help"].contains(first) { return (first, nil) }
        if words.count >= 2 && table[words[0]] == nil {
            return (String(words[1].prefix(128)), Identifier.isValid(words[0]) ? words[0] : nil)
        }
        // One word that names no operation is a workflow id without its operation.
        if words.count == 1 && table[words[0]] == nil {
            return ("", Identifier.isValid(words[0]) ? words[0] : nil)
        }
        return (String((words.first ?? "").prefix(128)), nil)
    }

    /// Runs the command and returns the exit status.
    public func run(_ arguments: [String]) async -> Int32 {
        let started = ContinuousClock.now
        let invocation: Invocation
        do {
            // `--version` (with `--pretty` or alone) is `version`, as most tools answer it (it was an unknown option).
            let asVersion = arguments.filter { $0 != "--pretty" } == ["--version"]
            invocation = try Invocation(
                arguments: asVersion ? arguments.map { $0 == "--version" ? "version" : $0 } : arguments)
        } catch {
            // The options could not be read; the error still names the operation typed.
            let typed = Invocation.words(ofUnreadable: arguments)
            let names = Self.names(ofTyped: typed.words, request: typed.request, table: .standard)
            return emitError(
                error, operation: names.operation, workflowID: names.workflowID, pretty: outputIsTerminal, exit: 2)
        }
        let pretty = invocation.pretty || outputIsTerminal
        let table = OperationTable.standard
        let words = invocation.words
        if invocation.help || words.first == "help" {
            // `--help` anywhere asks about the operation named (`w1 create --help`); `help create
            // '{…}'` is not a create of a workflow named help, so a second word is refused.
            // (`mcp --help`, `openapi --help`: the commands that are not operations have pages too.)
            let topics =
                invocation.help
                ? Array(words.filter { table[$0] != nil || CommandHelp.text($0) != nil }.suffix(1))
                : Array(words.dropFirst())
            guard topics.count <= 1 else {
                return emitError(
                    HubError(
                        .invalidArguments, "help takes one operation name, got \(topics.count) words",
                        suggestions: ["Run 'coordination-hub help <operation>'"]),
                    operation: "help", workflowID: nil, pretty: pretty, exit: 2)
            }
            let topic = topics.first
            if let topic, let text = CommandHelp.text(topic) {
                standardOutput.write(text)
            } else if let topic, topic != "help" {
                guard let op = table[topic] else {
                    return emitError(
                        HubError(
                            .invalidArguments, "Unknown operation '\(topic.prefix(64))'",
                            suggestions: ["Run 'coordination-hub help'"]),
                        operation: "help", workflowID: nil, pretty: pretty, exit: 2)
                }
                standardOutput.write(HelpText.operation(op))
            } else {
                standardOutput.write(HelpText.overview(table))
            }
            return 0
        }
        // `agent --help` and `serve --help` (before any `--`) are `help agent` and `help serve` (§2):
        // they were unknown options.
        for (command, options) in [("agent", invocation.agentArguments), ("serve", invocation.serveArguments)] {
            guard let options, options.prefix(while: { $0 != "--" }).contains(where: { $0 == "--help" || $0 == "-h" }),
                let text = CommandHelp.text(command)
            else { continue }
            standardOutput.write(text)
            return 0
        }
        if let agentArguments = invocation.agentArguments {
            return await runAgent(agentArguments, invocation: invocation, pretty: pretty)
        }
        if let serveArguments = invocation.serveArguments {
            return await runServer(serveArguments, invocation: invocation, pretty: pretty)
        }
        // `mcp create …` or `openapi x` read as a workflow named mcp: say what the command takes.
        if let command = words.first, ["mcp", "openapi"].contains(command), words.count > 1 {
            let usage =
                command == "mcp"
                ? "coordination-hub mcp [--state-dir DIR] [--hub URL] [--token T] [--set KEY=VALUE]"
                : "coordination-hub openapi"
            return emitError(
                HubError(
                    .invalidArguments,
                    "\(command) takes no arguments, got \(words.dropFirst().map { "'\($0.prefix(64))'" }.joined(separator: " "))",
                    details: "'\(command)' is a command, not a workflow id.", suggestions: ["Usage: \(usage)"]),
                operation: command, workflowID: nil, pretty: pretty, exit: 2)
        }
        if words.first == "mcp" && words.count == 1 {
            return runMCP(arguments: arguments, pretty: pretty)
        }
        if words.first == "openapi" && words.count == 1 {
            // The HTTP API's OpenAPI document, as the server serves it at /openapi.json.
            standardOutput.write(OpenAPIDocument.make(table, version: Hub.version).serialized(.pretty) + "\n")
            return 0
        }
        if words.first == "version" {
            guard words.count == 1 else {
                return emitError(
                    HubError(
                        .invalidArguments, "version takes no arguments", details: "'version' is not a workflow id."),
                    operation: "version", workflowID: nil, pretty: pretty, exit: 2)
            }
            // One JSON document, as every call but help prints (§2): the §3 envelope.
            let response = OperationResponse.success(
                request: OperationRequest(workflowID: nil, operation: "version"),
                outcome: OperationOutcome(result: ["name": "coordination-hub", "version": .string(Self.version)]),
                timestamp: clock.nowMilliseconds(), elapsed: ContinuousClock.now - started)
            print(response.json, pretty: pretty)
            return 0
        }
        let request: OperationRequest
        do {
            request = try parseRequest(invocation, table: table)
        } catch let refusal as RequestEnvelope.Refusal {
            return emitError(
                refusal.error, operation: refusal.operation, workflowID: refusal.workflowID, pretty: pretty, exit: 2)
        } catch {
            let names = Self.names(ofTyped: words, request: invocation.request != nil, table: table)
            return emitError(
                error as? HubError ?? .internal("\(error)"), operation: names.operation, workflowID: names.workflowID,
                pretty: pretty, exit: 2)
        }
        let stateDirectory = Paths.absolute(
            invocation.stateDirectory ?? environment["COORDINATION_HUB_STATE_DIR"] ?? ".claude/coordination",
            relativeTo: workingDirectory)
        if let descriptorError = checkedBeforeStore(request, table: table) {
            return emitError(
                descriptorError, operation: request.operation, workflowID: request.workflowID, pretty: pretty, exit: 1)
        }
        let url = invocation.hubURL ?? environment["COORDINATION_HUB_URL"]
        if let refusal = Self.refuseMisplacedOptions(invocation, remote: url != nil) {
            return emitError(
                refusal, operation: request.operation, workflowID: request.workflowID, pretty: pretty, exit: 2)
        }
        if let url {
            return await runRemote(
                request, url: url, token: invocation.token ?? environment["COORDINATION_HUB_TOKEN"], pretty: pretty)
        }
        let response: OperationResponse
        do {
            // A read where no store exists (a command run in the wrong directory) answers as an
            // empty store does and leaves nothing behind. A follow waits for events to come, so
            // it opens the store as the writers will.
            let following = request.parameters["follow"]?.boolValue == true
            let hub = try openHub(
                stateDirectory: stateDirectory, overrides: invocation.overrides,
                onlyReading: table[request.operation]?.readOnly == true && !following)
            if following {
                let status = await follow(request, hub: hub, pretty: pretty)
                try? await hub.store.close()
                return status
            }
            response = await hub.perform(request)
            // Retention holds with no server running: the command line applies it when due (§10).
            // Its failure must not turn the operation's answer into an error. Not with a retention
            // period given for this call only (--set): that removed everyone's events by it.
            if !invocation.setsEventRetention {
                _ = try? await hub.enforceRetention()
            }
            try? await hub.store.close()
        } catch let error as HubError {
            return emitError(
                error, operation: request.operation, workflowID: request.workflowID, pretty: pretty, exit: 1)
        } catch {
            return emitError(
                .internal("\(error)"), operation: request.operation, workflowID: request.workflowID, pretty: pretty,
                exit: 1)
        }
        print(response.json, pretty: pretty)
        guard let error = response.error else { return 0 }
        return Self.exitStatus(error.code)
    }

    /// The exit status of a failure (§2): 2 for a command line that could not be read, 1 for the rest.
    static func exitStatus(_ code: HubError.Code) -> Int32 { code == .invalidArguments ? 2 : 1 }

    /// Turns the words into (workflow id, operation, parameters), or `INVALID_ARGUMENTS`.
    /// A refused `--request` envelope throws ``RequestEnvelope/Refusal``, naming what it names.
    func parseRequest(_ invocation: Invocation, table: OperationTable) throws -> OperationRequest {
        if let source = invocation.request {
            guard source == "-" || source.hasPrefix("@") else {
                throw HubError(.invalidArguments, "--request takes '-' (standard input) or @file")
            }
            guard invocation.words.isEmpty else {
                throw HubError(.invalidArguments, "--request takes no other arguments")
            }
            let envelope = try ParameterSource.document(source, standardInput: standardInput)
            let request = try RequestEnvelope.read(envelope).get()
            func refuse(_ error: HubError) -> RequestEnvelope.Refusal {
                RequestEnvelope.Refusal(error: error, operation: request.operation, workflowID: request.workflowID)
            }
            guard let operation = table[request.operation] else {
                throw refuse(unknownOperation(request.operation, table: table))
            }
            if operation.scope == .workflow, request.workflowID == nil {
                throw refuse(
                    HubError(.invalidArguments, "\(request.operation) needs a workflow_id in the request envelope"))
            }
            return request
        }
        let words = invocation.words
        guard let first = words.first else {
            throw HubError(
                .invalidArguments, "No operation given",
                details: "Usage: coordination-hub <workflow-id> <operation> ['<json>']",
                suggestions: ["Run 'coordination-hub help'"])
        }
        // `<op> <op> …` is a workflow id that is an operation's name: INVALID_WORKFLOW_ID, reported by the hub (§17).
        if let op = table[first], !(words.count >= 2 && table[words[1]] != nil) {
            if op.scope == .workflow {
                throw HubError(
                    .invalidArguments, "\(first) needs a workflow id",
                    details: "Usage: coordination-hub <workflow-id> \(first) ['<json>']",
                    suggestions: ["List workflows with 'coordination-hub list-workflows'"])
            }
            guard words.count <= 2 else { throw tooMany(words) }
            return OperationRequest(
                workflowID: nil, operation: first,
                parameters: try ParameterSource.read(words.dropFirst().first, standardInput: standardInput))
        }
        guard words.count >= 2 else {
            throw HubError(
                .invalidArguments, "No operation given for workflow \(first.prefix(64))",
                details: "Usage: coordination-hub <workflow-id> <operation> ['<json>']",
                suggestions: ["Run 'coordination-hub help'"])
        }
        guard table[words[1]] != nil else { throw unknownOperation(words[1], table: table) }
        guard words.count <= 3 else { throw tooMany(words) }
        let parameters = try ParameterSource.read(words.count == 3 ? words[2] : nil, standardInput: standardInput)
        return OperationRequest(workflowID: first, operation: words[1], parameters: parameters)
    }

    private func unknownOperation(_ name: String, table: OperationTable) -> HubError {
        var suggestions = ["Run 'coordination-hub help' for the list of operations"]
        if let guess = table.closest(to: name) { suggestions.insert("Did you mean '\(guess)'?", at: 0) }
        return HubError(
            .invalidArguments, "Unknown operation '\(name.prefix(64))'",
            details: "Operations: \(table.names.joined(separator: ", ")).", suggestions: suggestions)
    }

    private func tooMany(_ words: [String]) -> HubError {
        HubError(
            .invalidArguments, "Too many arguments: \(words.count) words",
            details: "Pass the parameters as one JSON argument (quote it for the shell).")
    }

    /// Errors the table finds without the store (invalid workflow id), so they are reported before any file is created.
    private func checkedBeforeStore(_ request: OperationRequest, table: OperationTable) -> HubError? {
        do {
            _ = try Hub.resolve(request, table: table)
            return nil
        } catch {
            return error
        }
    }

    /// `agent …`: runs the bundled agent until SIGINT/SIGTERM (or its workflow finishes).
    private func runAgent(_ arguments: [String], invocation: Invocation, pretty: Bool) async -> Int32 {
        let parsed: AgentOptionsParser
        do {
            parsed = try AgentOptionsParser(arguments)
        } catch {
            return emitError(error, operation: "agent", workflowID: nil, pretty: pretty, exit: 2)
        }
        let stateDirectory = Paths.absolute(
            parsed.stateDirectory ?? invocation.stateDirectory ?? environment["COORDINATION_HUB_STATE_DIR"]
                ?? ".claude/coordination",
            relativeTo: workingDirectory)
        let url = parsed.hub ?? invocation.hubURL ?? environment["COORDINATION_HUB_URL"]
        // The runner's options, before or after `agent`, checked as every command's are.
        var typed = invocation
        typed.token = parsed.token ?? invocation.token
        typed.stateDirectory = parsed.stateDirectory ?? invocation.stateDirectory
        typed.hubURL = parsed.hub ?? invocation.hubURL
        if let refusal = Self.refuseMisplacedOptions(typed, remote: url != nil) {
            return emitError(refusal, operation: "agent", workflowID: nil, pretty: pretty, exit: 2)
        }
        // From the start: a signal while the store opens is a stop like any other, not the end of the process.
        let stop = StopFlag()
        let errors = standardError
        stop.installSignalHandlers { signal, again in
            errors.write(
                again
                    ? "agent: signal \(signal) again: stopping running commands; their tasks are given back\n"
                    : "agent: signal \(signal): no new claims; finishing running tasks\n")
        }
        let hub: any OperationPerformer
        let heartbeat: HubDuration
        var localHub: Hub?
        var remoteHub: RemoteHub?
        do {
            if let url {
                let remote = try RemoteHub(
                    url: url, token: parsed.token ?? invocation.token ?? environment["COORDINATION_HUB_TOKEN"])
                (hub, remoteHub) = (remote, remote)
                // The server's configuration applies, its heartbeat interval among it (the
                // registration's answer gives it); a local configuration file is not read: one the
                // local hub would refuse kept the runner from a healthy server.
                heartbeat = Configuration().heartbeatInterval
            } else {
                let local = try openHub(stateDirectory: stateDirectory, overrides: invocation.overrides)
                (hub, heartbeat, localHub) = (local, local.configuration.heartbeatInterval, local)
            }
        } catch let error as HubError {
            return emitError(
                error, operation: "agent", workflowID: nil, pretty: pretty, exit: Self.exitStatus(error.code))
        } catch {
            return emitError(.internal("\(error)"), operation: "agent", workflowID: nil, pretty: pretty, exit: 1)
        }
        var options = parsed.options
        // Through a server, an idle agent long-polls: the server wakes its claim when work appears.
        if remoteHub != nil { options.claimWait = .seconds(5) }
        let runner = AgentRunner(
            hub: hub, heartbeatInterval: heartbeat, options: options, log: { errors.write($0 + "\n") }, stop: stop)
        let status = await runner.run()
        try? await localHub?.store.close()
        await remoteHub?.shutdown()
        return status
    }

    /// `--set` configures the hub this process opens; through `--hub` the server's configuration
    /// applies, so an override there (a typo too) would be dropped without a word.
    /// Options typed for the other side of `--hub`: the local store's (`--set`, `--state-dir`)
    /// when the command goes to a server, the server's (`--token`) when it does not. Each would
    /// be ignored, and the command would run somewhere the user did not mean.
    static func refuseMisplacedOptions(_ invocation: Invocation, remote: Bool) -> HubError? {
        if remote {
            if let refusal = refuseOverrides(invocation.overrides) { return refusal }
            if invocation.stateDirectory != nil {
                return HubError(
                    .invalidArguments,
                    "--state-dir names a local store, but this command goes to a server"
                        + (invocation.hubURL == nil ? " (COORDINATION_HUB_URL is set)" : " (--hub)"),
                    details: "Nothing was sent. Through a server its own state directory is used.",
                    suggestions: [
                        invocation.hubURL == nil
                            ? "Unset COORDINATION_HUB_URL to use the local store, or leave out --state-dir"
                            : "Leave out --hub to use the local store, or leave out --state-dir"
                    ])
            }
        } else if invocation.token != nil {
            return HubError(
                .invalidArguments, "--token is sent to a server, but this command runs on the local store",
                details:
                    "Nothing was done. A token goes with --hub URL (or COORDINATION_HUB_URL); the local store needs none.",
                suggestions: ["Add --hub URL to send the command to a server, or leave out --token"])
        }
        return nil
    }

    static func refuseOverrides(_ overrides: [(String, String)]) -> HubError? {
        guard let (key, _) = overrides.first else { return nil }
        return HubError(
            .invalidArguments,
            "--set \(key.prefix(64)) configures the hub this process opens; through --hub the server's configuration applies",
            details:
                "Nothing was sent. Set it where the server starts: coordination-hub --set \(key.prefix(64))=… serve.",
            suggestions: ["Leave out --set, or run the command on the local store"])
    }

    /// `--hub URL`: the operation as a request to the server; its envelope is the output.
    private func runRemote(_ request: OperationRequest, url: String, token: String?, pretty: Bool) async -> Int32 {
        let remote: RemoteHub
        do {
            remote = try RemoteHub(url: url, token: token)
        } catch {
            return emitError(
                error, operation: request.operation, workflowID: request.workflowID, pretty: pretty, exit: 2)
        }
        if request.parameters["follow"]?.boolValue == true {
            let status = await followRemote(request, remote: remote, pretty: pretty)
            await remote.shutdown()
            return status
        }
        let response = await remote.perform(request)
        await remote.shutdown()
        print(response.json, pretty: pretty)
        guard let error = response.error else { return 0 }
        return Self.exitStatus(error.code)
    }

    /// `follow: true` through a server: its event stream, one JSON line per event, until
    /// SIGINT or SIGTERM; the same lines as following the local store.
    private func followRemote(_ request: OperationRequest, remote: RemoteHub, pretty: Bool) async -> Int32 {
        let output = standardOutput
        let errors = standardError
        let reader = Task {
            try await remote.follow(request, started: { errors.write($0) }) { output.write($0 + "\n") }
        }
        let stop = StopFlag()
        stop.installSignalHandlers { _, _ in reader.cancel() }
        do {
            guard let refused = try await reader.value else {
                if stop.isSet || reader.isCancelled { return 0 }
                // The server ended the stream (it is stopping): a follow runs until interrupted,
                // so a watcher is told, as when the connection breaks.
                return emitError(
                    HubError(
                        .storeUnavailable, "The event stream of \(remote.shown) ended: the server closed it",
                        details: "The server is stopping or restarting; the events up to here were printed.",
                        suggestions: [
                            "Follow again once it is back, with after_sequence set to the last sequence printed"
                        ]),
                    operation: request.operation, workflowID: request.workflowID, pretty: pretty, exit: 1)
            }
            print(refused.json, pretty: pretty)
            return refused.error.map { Self.exitStatus($0.code) } ?? 1
        } catch let error as HubError {
            return emitError(
                error, operation: request.operation, workflowID: request.workflowID, pretty: pretty,
                exit: Self.exitStatus(error.code))
        } catch {
            if stop.isSet || reader.isCancelled { return 0 }
            return emitError(
                HubError(
                    .storeUnavailable, "The event stream of \(remote.shown) ended: \(RemoteHub.reason(error))",
                    suggestions: ["Check that 'coordination-hub serve' is running at \(remote.shown)"]),
                operation: request.operation, workflowID: request.workflowID, pretty: pretty, exit: 1)
        }
    }

    /// `follow: true`: one JSON line per event as events arrive, until SIGINT or SIGTERM.
    /// Without a starting point of its own it prints the events after the newest one at the
    /// start, which is fixed before the line on standard error says the follow is on.
    private func follow(_ request: OperationRequest, hub: Hub, pretty: Bool) async -> Int32 {
        let stop = StopFlag()
        stop.installSignalHandlers { _, _ in }
        let followed: OperationRequest
        do throws(HubError) {
            followed = try await hub.fixingFollowStart(request)
        } catch {
            return emitError(
                error, operation: request.operation, workflowID: request.workflowID, pretty: pretty, exit: 1)
        }
        standardError.write(FollowNotice.local(followed))
        do {
            for try await event in hub.follow(followed, shouldStop: { stop.isSet }) {
                standardOutput.write(event.serialized(.compact) + "\n")
            }
            return 0
        } catch let failure as FollowFailure {
            print(failure.response.json, pretty: pretty)
            return Self.exitStatus(failure.error.code)
        } catch {
            return emitError(
                .internal("\(error)"), operation: request.operation, workflowID: request.workflowID, pretty: pretty,
                exit: 1)
        }
    }

    /// Opens the hub on the store the configuration names, creating the store if needed;
    /// `onlyReading` (a read-only operation) creates nothing: where no store file exists it
    /// reads an empty store in memory instead.
    func openHub(
        stateDirectory: String, overrides: [(String, String)], pooled: Bool = false, serving: Bool = false,
        onlyReading: Bool = false
    ) throws -> Hub {
        let configuration = try Configuration.load(
            stateDirectory: stateDirectory, environment: environment, overrides: overrides)
        let storePath =
            configuration.store.map { Paths.absolute($0, relativeTo: stateDirectory) } ?? "\(stateDirectory)/hub.sqlite"
        if configuration.store?.hasPrefix("postgres") == true {
            throw HubError(
                .storeUnavailable,
                "This build has no PostgreSQL store; remove 'store' from the configuration to use SQLite")
        }
        if configuration.store != nil { try Self.refuseHubFile(asStore: storePath, stateDirectory: stateDirectory) }
        try Self.refuseUnusableDirectory((storePath as NSString).deletingLastPathComponent)
        let store =
            onlyReading && !FileManager.default.fileExists(atPath: storePath)
            ? try SQLiteStore(emptyInMemory: ()) : try SQLiteStore(path: storePath, pooled: pooled)
        return Hub(
            store: store, stateDirectory: stateDirectory, configuration: configuration, clock: clock,
            workingDirectory: workingDirectory, serving: serving)
    }

    /// A `store` naming a file the hub writes itself in the state directory (the configuration,
    /// a folder of its layout): `save-state` wrote the pool over the database, and a store named
    /// config.yaml was then read as the configuration.
    static func refuseHubFile(asStore path: String, stateDirectory: String) throws(HubError) {
        let state = Paths.resolved(Paths.absolute(stateDirectory, relativeTo: "/"))
        let standard = Paths.resolved(Paths.absolute(path, relativeTo: "/"))
        guard standard.hasPrefix(state + "/") else { return }
        let first = standard.dropFirst(state.count + 1).split(separator: "/").first.map(String.init) ?? ""
        guard Paths.ownedFolders.contains(first) || Paths.configurationFiles.contains(first) else { return }
        throw HubError(
            .invalidParameters, "configuration: 'store' \(path) names a file the hub writes itself",
            details:
                "The configuration (\(Paths.configurationFiles.joined(separator: ", "))) and the folders \(Paths.ownedFolders.sorted().joined(separator: ", ")) of the state directory belong to the hub; nothing was run.",
            context: ["field": "store"], suggestions: ["Name a file of its own, e.g. hub.sqlite or stores/main.sqlite"])
    }

    /// `STORE_UNAVAILABLE` for a store directory that is there but is no directory: a file, or
    /// a symlink to nothing. A read answered as from an empty store ("no workflows"), and the
    /// first write failed with whatever Foundation said of it.
    static func refuseUnusableDirectory(_ directory: String) throws(HubError) {
        // The directory, or the nearest of its parents that is there (a missing one is created).
        var path = directory
        while true {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
                guard !isDirectory.boolValue else { return }
                throw HubError(
                    .storeUnavailable,
                    path == directory
                        ? "The state directory \(directory) is a file, not a directory"
                        : "The state directory \(directory) cannot be made: \(path) is a file",
                    suggestions: ["Give --state-dir a directory (it is created when missing)"])
            }
            if (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil {
                throw HubError(
                    .storeUnavailable,
                    "The state directory \(directory) goes through \(path), a symbolic link to nothing",
                    suggestions: ["Create what the link points to, or give --state-dir another directory"])
            }
            let parent = (path as NSString).deletingLastPathComponent
            guard parent != path, !parent.isEmpty else { return }
            path = parent
        }
    }

    func emitError(_ error: HubError, operation: String, workflowID: String?, pretty: Bool, exit: Int32)
        -> Int32
    {
        let response = OperationResponse.failure(
            request: OperationRequest(workflowID: workflowID, operation: operation), error: error,
            timestamp: clock.nowMilliseconds())
        print(response.json, pretty: pretty)
        return exit
    }

    private func print(_ json: JSONValue, pretty: Bool) {
        standardOutput.write(json.serialized(pretty ? .pretty : .compact) + "\n")
    }
}

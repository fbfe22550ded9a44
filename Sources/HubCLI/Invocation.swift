import HubCore

/// The command line split into global options and positional words (§2).
struct Invocation {
    var stateDirectory: String?
    var pretty = false
    var request: String?
    /// `--hub URL`: work through a running server instead of the local store.
    var hubURL: String?
    /// `--token T`: the bearer token sent to the server.
    var token: String?
    var help = false
    var overrides: [(String, String)] = []

    /// Whether `--set` gives this call a retention period of its own: such a call runs no
    /// retention, which would remove everyone's events by it (the command line and `mcp`).
    var setsEventRetention: Bool { overrides.contains { $0.0 == "event_retention" } }
    var words: [String] = []
    /// Everything after the `agent` command word, for ``AgentOptionsParser``.
    var agentArguments: [String]?
    /// Everything after the `serve` command word, for ``ServeOptions``.
    var serveArguments: [String]?

    /// Reads the arguments (without the program name). Throws `INVALID_ARGUMENTS` for an unknown or incomplete option.
    init(arguments: [String]) throws(HubError) {
        var i = 0
        func value(_ option: String) throws(HubError) -> String {
            i += 1
            guard i < arguments.count else { throw HubError(.invalidArguments, "\(option) needs a value") }
            return arguments[i]
        }
        var passthrough = false
        while i < arguments.count {
            let arg = arguments[i]
            if passthrough || !arg.hasPrefix("--") && arg != "-h" {
                if !passthrough && words.isEmpty && arg == "agent" {
                    agentArguments = Array(arguments[(i + 1)...])
                    words.append(arg)
                    return
                }
                if !passthrough && words.isEmpty && arg == "serve" {
                    serveArguments = Array(arguments[(i + 1)...])
                    words.append(arg)
                    return
                }
                words.append(arg)
            } else if arg == "--" {
                passthrough = true
            } else if arg == "--pretty" {
                pretty = true
            } else if arg == "--help" || arg == "-h" {
                help = true
            } else if arg == "--state-dir" {
                stateDirectory = try value(arg)
            } else if arg.hasPrefix("--state-dir=") {
                stateDirectory = String(arg.dropFirst("--state-dir=".count))
            } else if arg == "--hub" {
                hubURL = try value(arg)
            } else if arg.hasPrefix("--hub=") {
                hubURL = String(arg.dropFirst("--hub=".count))
            } else if arg == "--token" {
                token = try value(arg)
            } else if arg == "--request" {
                request = try value(arg)
            } else if arg == "--set" {
                overrides.append(try Self.setting(try value(arg)))
            } else {
                throw HubError(
                    .invalidArguments, "Unknown option \(arg.prefix(80))",
                    details:
                        "Options: --state-dir DIR, --hub URL, --token T, --pretty, --set KEY=VALUE, --request -, --help.",
                    suggestions: ["Run 'coordination-hub help'"])
            }
            i += 1
        }
        // An empty directory would put the store in whatever the current directory is.
        if stateDirectory?.isEmpty == true {
            throw HubError(
                .invalidArguments, "--state-dir is empty",
                details: "Name the directory that holds (or will hold) the hub's state.",
                suggestions: ["Leave the option out for .claude/coordination under the current directory"])
        }
    }

    /// The key and value of `--set KEY=VALUE`.
    static func setting(_ pair: String) throws(HubError) -> (String, String) {
        guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
            throw HubError(.invalidArguments, "--set needs KEY=VALUE, got \"\(pair.prefix(80))\"")
        }
        return (String(pair[..<eq]), String(pair[pair.index(after: eq)...]))
    }

    /// The positional words of a command line whose options could not be read, so that its
    /// error still names the operation typed (`w1 create --bogus '{}'` fails as `create`).
    /// Lenient where ``init(arguments:)`` is strict: options are skipped with their values.
    static func words(ofUnreadable arguments: [String]) -> (words: [String], request: Bool) {
        let valued: Set<String> = ["--state-dir", "--hub", "--token", "--request", "--set"]
        var words: [String] = []
        var request = false
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            if arg == "--" {
                words += arguments[(i + 1)...]
                break
            } else if arg.hasPrefix("-") {
                request = request || arg == "--request"
                if valued.contains(arg) { i += 1 }
            } else {
                words.append(arg)
            }
            i += 1
        }
        return (words, request)
    }
}

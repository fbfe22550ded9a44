/// The hub's settings (§14). Read from `<state-dir>/config.json` (or `.yaml`),
/// then the environment (`COORDINATION_HUB_<KEY>`), then flags; see `Configuration+Reader`.
public struct Configuration: Sendable, Equatable {
    /// Time between automatic checkpoints. Defaults to 15 minutes.
    public var checkpointInterval: HubDuration = .minutes(15)
    /// Most agents a pool may hold. Defaults to 20.
    public var maxAgentPoolSize: Int = 20
    /// Running time after which a workflow fails. Defaults to 4 hours.
    public var workflowTimeout: HubDuration = .hours(4)
    /// Whether exported state and bundles are compressed unless told otherwise. Defaults to true.
    public var stateCompression: Bool = true
    /// How long events are kept. Defaults to 7 days.
    public var eventRetention: HubDuration = .days(7)
    /// Whether the hub judges agents' performance (§7's degradation): with false no agent is
    /// held to be degraded, so none is announced with `performance_degraded` or held back in
    /// task selection and redistribution. Track records (tasks completed and failed, their
    /// times, success rates) are kept either way: outcomes are facts the hub records, and
    /// explicit requests such as `performance_threshold` still read them. Defaults to true.
    public var performanceMonitoring: Bool = true
    /// Whether the hub recovers by itself where it can. Defaults to true.
    public var autoRecovery: Bool = true
    /// How often agents are expected to heartbeat. Defaults to 30 seconds.
    public var heartbeatInterval: HubDuration = .seconds(30)
    /// The store: a SQLite file path or a `postgres://` URL. Defaults to `<state-dir>/hub.sqlite`.
    public var store: String? = nil
    /// Directories outside the state directory where `backup_location` may point. Defaults to none.
    public var allowedBackupRoots: [String] = []
    /// Hosts webhooks may be sent to: names, `*.example.com` wildcards, addresses and
    /// CIDRs (see ``WebhookAllowlist``). Defaults to empty, which allows loopback only;
    /// a non-empty list allows exactly what it lists.
    public var webhookAllowlist: [String] = []
    /// Capacities of named resources; undeclared resources have capacity 1. Defaults to none.
    public var resources: [String: Int] = [:]
    /// Largest request body the server accepts, in bytes. Defaults to 1 MiB.
    public var maxBodySize: Int = 1 << 20
    /// Window in which a repeated `dedup_id` is a duplicate. Defaults to 2 minutes.
    public var dedupWindow: HubDuration = .minutes(2)
    /// How many checkpoints each workflow keeps (the newest; the newest valid one always stays). Defaults to 20.
    public var checkpointRetention: Int = 20
    /// Longest a check command (evidence, a dependency's) may run before it is stopped and
    /// counts as failed. Defaults to 5 minutes.
    public var checkTimeout: HubDuration = .minutes(5)

    public init() {}

    /// Every key the configuration reads, as written in files (`snake_case`).
    public static let keys: [String] = [
        "checkpoint_interval", "max_agent_pool_size", "workflow_timeout", "state_compression", "event_retention",
        "performance_monitoring", "auto_recovery", "heartbeat_interval", "store", "allowed_backup_roots",
        "webhook_allowlist", "resources", "max_body_size", "dedup_window", "checkpoint_retention", "check_timeout",
    ]

    /// Problems that make this configuration unusable, each saying what to fix.
    public func validate() -> [String] {
        var problems: [String] = []
        if maxAgentPoolSize < 1 { problems.append("max_agent_pool_size must be at least 1") }
        if workflowTimeout.milliseconds < 1 { problems.append("workflow_timeout must be longer than 0s") }
        if heartbeatInterval.milliseconds < 10 { problems.append("heartbeat_interval must be at least 10ms") }
        // Leases last 3 intervals from now; a century-long interval put their expiry past year 9999.
        if heartbeatInterval > .days(365) { problems.append("heartbeat_interval must be at most 365d") }
        if checkpointInterval.milliseconds < 1000 { problems.append("checkpoint_interval must be at least 1s") }
        if checkpointRetention < 1 { problems.append("checkpoint_retention must be at least 1") }
        if checkTimeout < .seconds(1) { problems.append("check_timeout must be at least 1s") }
        // As configure-persistence's retention_period: 0s removed the whole event log at the next run.
        if eventRetention < .hours(1) { problems.append("event_retention must be at least 1h") }
        if maxBodySize < 1024 { problems.append("max_body_size must be at least 1024 bytes") }
        problems += WebhookAllowlist.problems(in: webhookAllowlist)
        for (name, capacity) in resources where capacity < 1 {
            problems.append("resources.\(name) must have a capacity of at least 1")
        }
        return problems
    }

    /// Applies one setting given as JSON (from a file, the environment or a flag).
    public mutating func set(_ key: String, _ value: JSONValue, origin: String) throws(HubError) {
        func bad(_ expected: String) -> HubError {
            HubError(
                .invalidParameters,
                "configuration \(origin): '\(key)' must be \(expected), got \(value.serialized().prefix(80))",
                details: "Fix the setting in \(origin).", context: ["field": .string(key)])
        }
        func duration() throws(HubError) -> HubDuration {
            guard let text = value.stringValue, let d = HubDuration(parsing: text) else {
                throw bad("a duration such as 15m")
            }
            return d
        }
        func bool() throws(HubError) -> Bool {
            if let b = value.boolValue { return b }
            switch value.stringValue?.lowercased() {
            case "true"?, "1"?, "yes"?, "on"?: return true
            case "false"?, "0"?, "no"?, "off"?: return false
            default: throw bad("true or false")
            }
        }
        func int() throws(HubError) -> Int {
            if let i = value.intValue { return Int(i) }
            if let s = value.stringValue, let i = Int(s) { return i }
            throw bad("an integer")
        }
        func strings() throws(HubError) -> [String] {
            if let items = value.arrayValue {
                var out: [String] = []
                for item in items {
                    guard let s = item.stringValue else { throw bad("a list of strings") }
                    out.append(s)
                }
                return out
            }
            if let s = value.stringValue {
                return s.split(separator: ",").map { String($0).trimmingCharactersInSpaces() }
            }
            throw bad("a list of strings")
        }
        switch key {
        case "checkpoint_interval": checkpointInterval = try duration()
        case "max_agent_pool_size": maxAgentPoolSize = try int()
        case "workflow_timeout": workflowTimeout = try duration()
        case "state_compression": stateCompression = try bool()
        case "event_retention": eventRetention = try duration()
        case "performance_monitoring": performanceMonitoring = try bool()
        case "auto_recovery": autoRecovery = try bool()
        case "heartbeat_interval": heartbeatInterval = try duration()
        case "store":
            // Blank: a SQLite file named " " in the state directory, or the directory itself.
            guard let s = value.stringValue, !s.allSatisfy(\.isWhitespace) else {
                throw bad("a path or a postgres:// URL")
            }
            // Another scheme's URL became a relative SQLite path ("mysql:/x" under the state directory).
            if let scheme = s.range(of: "://").map({ s[..<$0.lowerBound].lowercased() }),
                scheme != "postgres", scheme != "postgresql"
            {
                throw bad("a SQLite path or a postgres:// URL (\(scheme.prefix(32)):// is not a store this hub has)")
            }
            store = s
        case "allowed_backup_roots": allowedBackupRoots = try strings()
        case "webhook_allowlist": webhookAllowlist = try strings()
        case "resources":
            var parsed: JSONValue = value
            if let text = value.stringValue, let doc = try? JSONParser.parse(text) { parsed = doc }
            guard let members = parsed.objectValue else {
                throw bad("an object of capacities such as {\"database\": 2}")
            }
            var out: [String: Int] = [:]
            for (name, v) in members {
                guard let i = v.intValue else { throw bad("an object of integer capacities") }
                out[name] = Int(i)
            }
            resources = out
        case "max_body_size": maxBodySize = try int()
        case "dedup_window": dedupWindow = try duration()
        case "checkpoint_retention": checkpointRetention = try int()
        case "check_timeout": checkTimeout = try duration()
        default:
            var message = "configuration \(origin): unknown key '\(key)'"
            if let guess = Schema.closest(to: key, in: Self.keys) { message += " (did you mean '\(guess)'?)" }
            throw HubError(
                .invalidParameters, message, details: "Known keys: \(Self.keys.joined(separator: ", ")).",
                context: ["field": .string(key)])
        }
    }

    /// The settings as JSON, as `config.json` would hold them.
    public var json: JSONValue {
        var resourcesJSON: JSONValue = .emptyObject
        for name in resources.keys.sorted() { resourcesJSON[name] = .count(resources[name] ?? 1) }
        return [
            "checkpoint_interval": .string(checkpointInterval.description),
            "max_agent_pool_size": .count(maxAgentPoolSize),
            "workflow_timeout": .string(workflowTimeout.description),
            "state_compression": .bool(stateCompression),
            "event_retention": .string(eventRetention.description),
            "performance_monitoring": .bool(performanceMonitoring),
            "auto_recovery": .bool(autoRecovery),
            "heartbeat_interval": .string(heartbeatInterval.description),
            "store": .optional(store),
            "allowed_backup_roots": .strings(allowedBackupRoots),
            "webhook_allowlist": .strings(webhookAllowlist),
            "resources": resourcesJSON,
            "max_body_size": .count(maxBodySize),
            "dedup_window": .string(dedupWindow.description),
            "checkpoint_retention": .count(checkpointRetention),
            "check_timeout": .string(checkTimeout.description),
        ]
    }
}

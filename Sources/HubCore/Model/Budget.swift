/// A limit on what a workflow or an agent may spend (§16). Absent dimensions are unlimited.
public struct Budget: Sendable, Equatable {
    public var tokens: Int64?
    public var cost: Double?
    /// Running time (workflows: paused time excluded; agents: time spent on tasks).
    public var wallTime: HubDuration?

    public init(tokens: Int64? = nil, cost: Double? = nil, wallTime: HubDuration? = nil) {
        self.tokens = tokens
        self.cost = cost
        self.wallTime = wallTime
    }

    /// The dimensions in which `spend` (and `time`) have reached the limit.
    public func exhausted(by spend: Spend, time: HubDuration) -> [String] {
        var out: [String] = []
        if let tokens, spend.tokens >= tokens { out.append("tokens") }
        if let cost, spend.cost >= cost { out.append("cost") }
        if let wallTime, time >= wallTime { out.append("wall_time") }
        return out
    }

    public var json: JSONValue {
        ["tokens": .optional(tokens), "cost": .optional(cost), "wall_time": .optional(wallTime?.description)]
    }

    /// The `exceeded` dimensions raised, as a suggestion to resume with: twice the limit or twice
    /// what was spent (`spend`, and `time` run), whichever is larger. Doubling the limit alone
    /// suggested a budget already spent when one usage report went far past it, and resume
    /// refused it. The limits given to `resume` replace those (``merging(_:into:)``), the others
    /// stay as they are.
    public func raised(_ exceeded: [String], spend: Spend, time: HubDuration) -> JSONValue {
        func doubled(_ value: Int64) -> Int64 {
            let (product, overflow) = value.multipliedReportingOverflow(by: 2)
            return overflow ? .max : product
        }
        var out: JSONValue = .emptyObject
        if let tokens, exceeded.contains("tokens") { out["tokens"] = .int(doubled(max(tokens, spend.tokens))) }
        if let cost, exceeded.contains("cost") { out["cost"] = .double(max(cost, spend.cost) * 2) }
        if let wallTime, exceeded.contains("wall_time") {
            out["wall_time"] = .string(
                HubDuration(milliseconds: doubled(max(wallTime.milliseconds, time.milliseconds))).description)
        }
        return out
    }

    /// `budget` (a budget's JSON) merged into `base`: each limit it gives replaces that
    /// dimension's, the dimensions it leaves out keep theirs (`resume` raising tokens kept no
    /// cost limit when the new budget replaced the whole one). `nil` when no limit is left.
    /// A limit given as `null` is removed (``changeSchema``).
    public static func merging(_ budget: JSONValue?, into base: Budget?) -> Budget? {
        var out = base ?? Budget()
        if let given = Budget(json: budget) {
            out.tokens = given.tokens ?? out.tokens
            out.cost = given.cost ?? out.cost
            out.wallTime = given.wallTime ?? out.wallTime
        }
        if budget?["tokens"] == JSONValue.null { out.tokens = nil }
        if budget?["cost"] == JSONValue.null { out.cost = nil }
        if budget?["wall_time"] == JSONValue.null { out.wallTime = nil }
        return out.tokens == nil && out.cost == nil && out.wallTime == nil ? nil : out
    }

    /// Reads `{"tokens", "cost", "wall_time"}`; `nil` for anything else or an empty object.
    public init?(json: JSONValue?) {
        guard let json, case .object = json else { return nil }
        let wall = json["wall_time"]?.stringValue.flatMap(HubDuration.init(parsing:))
        self.init(tokens: json["tokens"]?.intValue, cost: json["cost"]?.doubleValue, wallTime: wall)
        if tokens == nil && cost == nil && wallTime == nil { return nil }
    }

    /// Refuses a budget spent before any work is done: a dimension of zero (`tokens: 0`,
    /// `cost: 0`, `wall_time: "0s"`) paused the workflow, or stopped the agent, at its first
    /// claim. `field` names the parameter in the error (`budget`). Negative numbers and
    /// malformed durations are the schema's to refuse; this throws `INVALID_PARAMETERS`.
    public static func validate(_ json: JSONValue?, field: String) throws(HubError) {
        guard let json, case .object = json else { return }
        let why = "a budget of nothing is spent before any work is done"
        let leaveOut = "Leave it out for no limit in that dimension"
        if let tokens = json["tokens"]?.intValue, tokens <= 0 {
            throw HubError.parameter(
                "\(field).tokens", "must be at least 1, got \(tokens): \(why)", suggestions: [leaveOut])
        }
        if let cost = json["cost"]?.doubleValue, !(cost > 0) {
            throw HubError.parameter(
                "\(field).cost", "must be more than 0, got \(cost): \(why)", suggestions: [leaveOut])
        }
        if let text = json["wall_time"]?.stringValue, let wall = HubDuration(parsing: text), wall.milliseconds <= 0 {
            throw HubError.parameter(
                "\(field).wall_time", "must be longer than 0s, got \"\(text.prefix(64))\": \(why)",
                suggestions: [leaveOut])
        }
    }

    /// The schema of a budget.
    public static let schema = Schema.object(
        [
            .init("tokens", .integer("Most tokens to spend; at least 1.", min: 1)),
            .init("cost", .number("Most cost to spend, in the caller's currency unit; more than 0.", above: 0)),
            .init("wall_time", .duration("Most running time; longer than 0s.")),
        ], "A spending limit; absent dimensions are unlimited.")

    /// The schema of a change to a budget (``merging(_:into:)``): a limit given replaces that
    /// dimension's, `null` removes it, one left out stays.
    public static let changeSchema = Schema.object(
        schema.properties.map { property in
            .init(
                property.name,
                property.schema.orNull("\(property.schema.summary ?? "") null removes this limit."))
        }, "Limits to change: each given replaces that dimension's, null removes it, those left out stay.")
}

/// What has been spent, as reported by `usage`.
public struct Spend: Sendable, Equatable {
    public var tokens: Int64
    public var cost: Double

    public init(tokens: Int64 = 0, cost: Double = 0) {
        self.tokens = tokens
        self.cost = cost
    }

    /// Adds `other`, saturating: a total never wraps (which trapped) nor becomes infinite
    /// (stored as nothing); it stays at the largest value instead, which exhausts any budget.
    public mutating func add(_ other: Spend) {
        let (sum, overflow) = tokens.addingReportingOverflow(other.tokens)
        tokens = overflow ? (other.tokens < 0 ? .min : .max) : sum
        let total = cost + other.cost
        cost = total.isFinite ? total : (total < 0 ? -.greatestFiniteMagnitude : .greatestFiniteMagnitude)
    }

    /// The share of this spend part `index` of `parts` carries (usage split across several
    /// workflows): tokens split evenly with the remainder going one each to the first parts,
    /// so the shares add up to the whole (integer division dropped the rest, and usage spread
    /// over workflows could pass their budgets unnoticed).
    public func share(_ index: Int, of parts: Int) -> Spend {
        guard parts > 1 else { return self }
        let n = Int64(parts)
        let extra: Int64 = Int64(index) < tokens % n ? 1 : 0
        return Spend(tokens: tokens / n + extra, cost: cost / Double(parts))
    }

    public var json: JSONValue { ["tokens": .int(tokens), "cost": .double(Self.shown(cost))] }

    /// A cost as responses show it: to nine decimals, far below any currency's smallest unit,
    /// so sums of reports print as entered (0.06, not 0.060000000000000005).
    public static func shown(_ cost: Double) -> Double {
        let scaled = (cost * 1e9).rounded() / 1e9
        return scaled.isFinite ? scaled : cost
    }

    public init(json: JSONValue?) {
        self.init(tokens: json?["tokens"]?.intValue ?? 0, cost: json?["cost"]?.doubleValue ?? 0)
    }

    /// The most one report may carry: far beyond any real use, and small enough that totals
    /// stay exact (whole numbers below 2^53 are exact in JSON clients' doubles too).
    public static let maximumTokensPerReport: Int64 = 1_000_000_000_000
    public static let maximumCostPerReport: Int64 = 1_000_000_000_000

    /// The schema of reported usage.
    public static let usageSchema = Schema.object(
        [
            .init("tokens", .integer("Tokens used since the last report.", min: 0, max: maximumTokensPerReport)),
            .init("cost", .number("Cost incurred since the last report.", min: 0, max: maximumCostPerReport)),
        ], "Usage since the last report; added to the spend of the agent and its workflows.")
}

/// How a resource request shares (`constraints.conflict_tolerance`, §8).
public enum ResourceMode: String, Sendable, CaseIterable, Codable {
    /// `low` tolerance: exclusive units, up to the resource's capacity in all.
    case exclusive
    /// `high` tolerance: shares with other shared holders; excludes exclusive ones.
    case shared
}

/// A request for named resources, granted all or nothing (§8).
public struct ResourceRequest: Sendable, Equatable {
    public var id: String
    public var resources: [String: Int]
    public var priority: Priority
    public var mode: ResourceMode
    /// Arrival order.
    public var sequence: Int64

    public init(id: String, resources: [String: Int], priority: Priority, mode: ResourceMode, sequence: Int64) {
        self.id = id
        self.resources = resources
        self.priority = priority
        self.mode = mode
        self.sequence = sequence
    }
}

/// The holdings of named resources and the rule that grants queued requests (§8).
///
/// Exclusive units of a resource never exceed its capacity (undeclared resources
/// have capacity 1); shared holders exclude exclusive ones and vice versa. Requests
/// are granted whole, in priority then arrival order; a request that cannot be
/// granted holds back later requests for any of the same resources, so a large
/// request is not starved and no two requests deadlock (nothing is held partially).
public struct ResourceLedger: Sendable, Equatable {
    public var capacity: [String: Int]
    /// Exclusive units in use per resource (running tasks hold theirs exclusively).
    public var exclusive: [String: Int] = [:]
    /// Shared holders per resource.
    public var shared: [String: Int] = [:]

    public init(capacity: [String: Int]) { self.capacity = capacity }

    public func capacity(of name: String) -> Int { capacity[name] ?? 1 }

    /// Whether a request fits what is free now.
    public func fits(_ request: ResourceRequest) -> Bool {
        request.resources.allSatisfy { name, units in
            switch request.mode {
            case .exclusive: return (shared[name] ?? 0) == 0 && (exclusive[name] ?? 0) + units <= capacity(of: name)
            case .shared: return (exclusive[name] ?? 0) == 0 && units <= capacity(of: name)
            }
        }
    }

    /// Records a granted request (or a running task's implicit hold).
    public mutating func hold(_ resources: [String: Int], mode: ResourceMode) {
        for (name, units) in resources {
            switch mode {
            case .exclusive: exclusive[name, default: 0] += units
            case .shared: shared[name, default: 0] += 1
            }
        }
    }

    /// Units free for exclusive use, per resource named in `names`.
    public func freeExclusive(_ names: some Sequence<String>) -> [String: Int] {
        var out: [String: Int] = [:]
        for name in names { out[name] = (shared[name] ?? 0) > 0 ? 0 : capacity(of: name) - (exclusive[name] ?? 0) }
        return out
    }

    /// Grants what can be granted from `queue`, in priority then arrival order, and holds it.
    public mutating func grant(_ queue: [ResourceRequest]) -> [String] {
        let ordered = queue.sorted { a, b in
            a.priority != b.priority ? a.priority > b.priority : a.sequence < b.sequence
        }
        var blocked: Set<String> = []
        var granted: [String] = []
        for request in ordered {
            let names = Set(request.resources.keys)
            if !names.isDisjoint(with: blocked) || !fits(request) {
                blocked.formUnion(names)
                continue
            }
            hold(request.resources, mode: request.mode)
            granted.append(request.id)
        }
        return granted
    }
}

/// Routes subjects to the values of the patterns they match (§10).
///
/// A trie of pattern segments walked like an automaton: each subject segment
/// moves every live node along its literal and `*` edges, and nodes entered
/// through a `#` edge stay live while they absorb segments. The cost of a match
/// follows the subject and the patterns sharing its path, not how many patterns
/// are stored.
public struct SubjectTrie<Value: Hashable & Sendable>: Sendable {
    private struct Node: Sendable {
        var literals: [String: Int] = [:]
        var star: Int?
        var hash: Int?
        /// Entered through a `#` edge: absorbs any number of segments.
        var absorbs = false
        var values: Set<Value> = []
    }

    private var nodes: [Node] = [Node()]
    /// How many (pattern, value) pairs are stored.
    public private(set) var count = 0

    public init() {}

    private mutating func child(of parent: Int, _ segment: SubjectPattern.Segment) -> Int {
        switch segment {
        case .literal(let l):
            if let existing = nodes[parent].literals[l] { return existing }
            nodes.append(Node())
            nodes[parent].literals[l] = nodes.count - 1
        case .star:
            if let existing = nodes[parent].star { return existing }
            nodes.append(Node())
            nodes[parent].star = nodes.count - 1
        case .hash:
            if let existing = nodes[parent].hash { return existing }
            nodes.append(Node(absorbs: true))
            nodes[parent].hash = nodes.count - 1
        }
        return nodes.count - 1
    }

    private func find(_ pattern: SubjectPattern) -> Int? {
        var node = 0
        for segment in pattern.segments {
            let next: Int?
            switch segment {
            case .literal(let l): next = nodes[node].literals[l]
            case .star: next = nodes[node].star
            case .hash: next = nodes[node].hash
            }
            guard let next else { return nil }
            node = next
        }
        return node
    }

    /// Adds `value` under `pattern`.
    public mutating func insert(_ pattern: SubjectPattern, _ value: Value) {
        var node = 0
        for segment in pattern.segments { node = child(of: node, segment) }
        if nodes[node].values.insert(value).inserted { count += 1 }
    }

    /// Removes `value` from under `pattern`.
    public mutating func remove(_ pattern: SubjectPattern, _ value: Value) {
        guard let node = find(pattern) else { return }
        if nodes[node].values.remove(value) != nil { count -= 1 }
    }

    /// The values of every pattern the subject matches.
    public func match(_ subject: String) -> Set<Value> {
        var live = closure([0])
        for part in subject.split(separator: ".", omittingEmptySubsequences: false) {
            var next: [Int] = []
            for n in live {
                if let c = nodes[n].literals[String(part)] { next.append(c) }
                if let c = nodes[n].star { next.append(c) }
                if nodes[n].absorbs { next.append(n) }
            }
            live = closure(next)
            if live.isEmpty { return [] }
        }
        var result: Set<Value> = []
        for n in live { result.formUnion(nodes[n].values) }
        return result
    }

    /// The nodes plus those reached through `#` edges matching nothing.
    private func closure(_ start: [Int]) -> Set<Int> {
        var out = Set(start)
        var stack = start
        while let n = stack.popLast() {
            if let h = nodes[n].hash, out.insert(h).inserted { stack.append(h) }
        }
        return out
    }
}

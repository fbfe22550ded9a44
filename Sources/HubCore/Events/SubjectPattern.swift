/// A subscription pattern over event subjects (§10).
///
/// Segments split on `.`; `*` matches exactly one segment; `#` matches zero or
/// more. A pattern without `#` is matched against the end of the subject (an
/// implicit leading `#`), so `*.task_completed`, `failed` and
/// `workflow.*.phase_completed` mean what they obviously mean.
public struct SubjectPattern: Sendable, Hashable, CustomStringConvertible {
    /// Longest pattern accepted, in characters.
    public static let maximumLength = 512
    /// Most segments accepted.
    public static let maximumSegments = 32

    /// One segment of a pattern.
    public enum Segment: Sendable, Hashable {
        case literal(String)
        case star
        case hash
    }

    /// The pattern as written.
    public let text: String
    /// The segments matched, with the implicit leading `#` made explicit.
    public let segments: [Segment]

    public var description: String { text }

    /// Parses a pattern; throws `INVALID_PARAMETERS` naming what is wrong.
    public init(_ text: String, field: String = "patterns") throws(HubError) {
        guard !text.isEmpty else { throw HubError.parameter(field, "has an empty pattern") }
        guard text.count <= Self.maximumLength else {
            throw HubError.parameter(field, "has a pattern longer than \(Self.maximumLength) characters")
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= Self.maximumSegments else {
            throw HubError.parameter(field, "has a pattern of more than \(Self.maximumSegments) segments")
        }
        var segments: [Segment] = []
        for part in parts {
            switch part {
            case "": throw HubError.parameter(field, "pattern \"\(text.prefix(64))\" has an empty segment")
            case "*": segments.append(.star)
            case "#": segments.append(.hash)
            case _ where part.contains(">"):
                // NATS's habit: no subject holds a '>', so the pattern would never match.
                throw HubError.parameter(
                    field,
                    "pattern \"\(text.prefix(64))\": '>' is not a wildcard here; '#' matches zero or more segments")
            default:
                guard !part.contains("*"), !part.contains("#") else {
                    throw HubError.parameter(
                        field,
                        "pattern \"\(text.prefix(64))\": '*' and '#' must be whole segments, not part of \"\(part.prefix(32))\""
                    )
                }
                segments.append(.literal(String(part)))
            }
        }
        if !segments.contains(.hash) { segments.insert(.hash, at: 0) }
        self.text = text
        self.segments = segments
    }

    /// Whether the subject matches (a direct matcher, the reference for ``SubjectTrie``).
    public func matches(_ subject: String) -> Bool {
        let parts = subject.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        // reachable[i]: the pattern prefix matched so far can stand before subject segment i.
        var states: Set<Int> = Self.closure([0], segments)
        for part in parts {
            states = Self.step(states, part, segments)
            if states.isEmpty { return false }
        }
        return states.contains(segments.count)
    }

    /// Whether every subject `other` matches, this pattern matches too: `#` covers
    /// `*.failed`, `workflow.*.failed` covers `workflow.w1.failed`, `*.*` covers `a.#.b`, and
    /// every pattern covers itself.
    ///
    /// Both patterns read as automata over segments, run side by side on every sequence of
    /// the literals they name plus one segment neither names (`*`, which no literal can be): a
    /// subject of `other`'s that this pattern misses shows up as a pair of states where
    /// `other` accepts and this one does not.
    public func covers(_ other: SubjectPattern) -> Bool {
        var symbols: Set<String> = ["*"]
        for case .literal(let l) in segments + other.segments { symbols.insert(l) }
        struct Pair: Hashable {
            var theirs: Set<Int>
            var mine: Set<Int>
        }
        let start = Pair(
            theirs: Self.closure([0], other.segments), mine: Self.closure([0], segments))
        var seen: Set<Pair> = []
        var queue = [start]
        while let pair = queue.popLast() {
            for symbol in symbols {
                let next = Pair(
                    theirs: Self.step(pair.theirs, symbol, other.segments), mine: Self.step(pair.mine, symbol, segments)
                )
                guard !next.theirs.isEmpty, seen.insert(next).inserted else { continue }
                if next.theirs.contains(other.segments.count) && !next.mine.contains(segments.count) { return false }
                queue.append(next)
            }
        }
        return true
    }

    /// The states after one more subject segment, `#`'s empty matches included.
    private static func step(_ states: Set<Int>, _ part: String, _ segments: [Segment]) -> Set<Int> {
        var next: Set<Int> = []
        for s in states where s < segments.count {
            switch segments[s] {
            case .literal(let l): if l == part { next.insert(s + 1) }
            case .star: next.insert(s + 1)
            case .hash: next.insert(s)
            }
        }
        return closure(next, segments)
    }

    /// Adds the states reachable by letting a `#` match nothing.
    private static func closure(_ states: Set<Int>, _ segments: [Segment]) -> Set<Int> {
        var out = states
        var stack = Array(states)
        while let s = stack.popLast() {
            if s < segments.count, segments[s] == .hash, !out.contains(s + 1) {
                out.insert(s + 1)
                stack.append(s + 1)
            }
        }
        return out
    }
}

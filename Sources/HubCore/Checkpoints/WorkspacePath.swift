/// Rules for paths inside a workflow's workspace, as checkpoints capture and restore them.
public enum WorkspacePath {
    /// Whether `path` is relative, `/`-separated, without empty, `.` or `..` segments and without NUL:
    /// a path that cannot leave the directory it is resolved against (symlinks aside).
    public static func isSafeRelative(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.utf8.contains(0) else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && $0 != "." && $0 != ".." && $0.utf8.count <= 255
        }
    }

    /// `path` resolved against `workspace` (made absolute, `.` and `..` resolved by name, as
    /// ``WorkTask/fileKey(_:workspace:)`` does) when it names something inside the workspace,
    /// not the workspace itself; `nil` otherwise, or when it is empty or holds NUL. The one
    /// rule for a task's `files`, its required evidence files and the evidence files
    /// `complete-task` supplies, so the same forms (`./a`, `b/../a`, `/<workspace>/a`) are
    /// accepted everywhere and mean the same file.
    public static func resolved(_ path: String, in workspace: String) -> String? {
        guard !path.isEmpty, !path.utf8.contains(0) else { return nil }
        let root = WorkTask.fileKey(".", workspace: workspace)
        let key = WorkTask.fileKey(path, workspace: workspace)
        // By bytes: to `hasPrefix` a folder named in another Unicode normalization was the workspace.
        guard PathKey(key) != PathKey(root), PathKey.isInside(key, root) else { return nil }
        return key
    }
}

/// A glob over workspace paths: `*` matches within one segment, `?` one character,
/// `**` any number of segments (zero included), `[abc]` a character set, and `\\` makes the
/// character after it literal (`app/\\[id\\]/page.tsx`). Patterns are relative to the
/// workspace; absolute ones and `..` segments are refused by ``init(_:)``.
public struct GlobPattern: Sendable, Equatable {
    public let text: String
    private let segments: [String]

    /// `nil` when the pattern is empty, absolute or has a `..` segment (it could name files
    /// outside the workspace).
    public init?(_ text: String) {
        var trimmed = text
        while trimmed.hasPrefix("./") { trimmed.removeFirst(2) }
        guard !trimmed.isEmpty, !trimmed.hasPrefix("/"), !trimmed.utf8.contains(0) else { return nil }
        let parts = trimmed.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard !parts.isEmpty, !parts.contains("..") else { return nil }
        self.text = text
        // `**/**` matches what `**` does: consecutive ones collapse.
        var kept: [String] = []
        for part in parts where part != "." && !(part == "**" && kept.last == "**") { kept.append(part) }
        self.segments = kept
    }

    /// A pattern that matches `path` itself and nothing else, whatever characters it holds:
    /// a task's declared file `app/[id]/page.tsx` is that file, not a character class.
    public static func literal(_ path: String) -> GlobPattern? {
        var escaped = ""
        for c in path {
            if "*?[\\".contains(c) { escaped.append("\\") }
            escaped.append(c)
        }
        return GlobPattern(escaped)
    }

    /// Whether the relative path `path` matches. Time is at most the pattern's segments times
    /// the path's (each pair compared once), whatever the number of `**`.
    public func matches(_ path: String) -> Bool {
        Self.match(segments, path.split(separator: "/").map(String.init))
    }

    /// Whether some path below the directory `prefix` could match (to prune a walk).
    public func mayMatchBelow(_ prefix: String) -> Bool {
        if prefix.isEmpty { return true }
        let parts = prefix.split(separator: "/").map(String.init)
        var i = 0
        for part in parts {
            guard i < segments.count else { return false }
            if segments[i] == "**" { return true }
            guard Self.matchSegment(Array(segments[i].utf8), Array(part.utf8)) else { return false }
            i += 1
        }
        return i < segments.count
    }

    /// Dynamic programming over segments: `reached[j]` says the pattern's segments so far can
    /// match the path's first `j`. Backtracking over each `**` instead costs exponential time
    /// in their number.
    private static func match(_ pattern: [String], _ path: [String]) -> Bool {
        var reached = [Bool](repeating: false, count: path.count + 1)
        reached[0] = true
        for segment in pattern {
            var next = [Bool](repeating: false, count: path.count + 1)
            if segment == "**" {
                // Zero or more whole segments: every length from the first reached one on.
                var any = false
                for j in 0...path.count {
                    any = any || reached[j]
                    next[j] = any
                }
            } else {
                let p = Array(segment.utf8)
                for j in 0..<path.count where reached[j] { next[j + 1] = matchSegment(p, Array(path[j].utf8)) }
            }
            guard next.contains(true) else { return false }
            reached = next
        }
        return reached[path.count]
    }

    /// `*`, `?` and `[set]` within one segment; a leading `.` must be matched literally.
    static func matchSegment(_ p: [UInt8], _ s: [UInt8]) -> Bool {
        if s.first == UInt8(ascii: "."), p.first != UInt8(ascii: ".") { return false }
        var pi = 0
        var si = 0
        var starP = -1
        var starS = 0
        while si < s.count {
            if pi < p.count, p[pi] == UInt8(ascii: "*") {
                starP = pi
                starS = si
                pi += 1
                continue
            }
            if pi < p.count, let next = matchOne(p, pi, s[si]) {
                pi = next
                si += 1
                continue
            }
            guard starP >= 0 else { return false }
            pi = starP + 1
            starS += 1
            si = starS
        }
        while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }

    /// Matches one character at `pi`; returns the index after the pattern element, or `nil`.
    private static func matchOne(_ p: [UInt8], _ pi: Int, _ c: UInt8) -> Int? {
        switch p[pi] {
        case UInt8(ascii: "\\") where pi + 1 < p.count: return p[pi + 1] == c ? pi + 2 : nil
        case UInt8(ascii: "?"): return pi + 1
        case UInt8(ascii: "["):
            var i = pi + 1
            var negate = false
            if i < p.count, p[i] == UInt8(ascii: "!") || p[i] == UInt8(ascii: "^") {
                negate = true
                i += 1
            }
            var found = false
            var first = true
            while i < p.count, p[i] != UInt8(ascii: "]") || first {
                first = false
                if i + 2 < p.count, p[i + 1] == UInt8(ascii: "-"), p[i + 2] != UInt8(ascii: "]") {
                    if p[i] <= c && c <= p[i + 2] { found = true }
                    i += 3
                } else {
                    if p[i] == c { found = true }
                    i += 1
                }
            }
            guard i < p.count else { return p[pi] == c ? pi + 1 : nil }  // no closing ]: a literal [
            return found != negate ? i + 1 : nil
        default:
            return p[pi] == c ? pi + 1 : nil
        }
    }

    /// Whether the pattern has no wildcard (but escaped ones), so it names exactly one path.
    public var isLiteral: Bool {
        var escaped = false
        for c in text.utf8 {
            if escaped {
                escaped = false
            } else if c == UInt8(ascii: "\\") {
                escaped = true
            } else if c == UInt8(ascii: "*") || c == UInt8(ascii: "?") || c == UInt8(ascii: "[") {
                return false
            }
        }
        return true
    }

    /// The literal path a wildcard-free pattern names.
    public var literalPath: String {
        segments.map { segment in
            var out = ""
            var escaped = false
            for c in segment {
                if !escaped && c == "\\" {
                    escaped = true
                    continue
                }
                escaped = false
                out.append(c)
            }
            return out
        }.joined(separator: "/")
    }
}

/// A span of time as the hub reads and prints it: `250ms`, `5s`, `15m`, `2h`, `7d`, `1h 15m`.
///
/// Held as whole milliseconds; never negative.
public struct HubDuration: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The length in milliseconds.
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = max(0, milliseconds) }

    public static func seconds(_ s: Int64) -> HubDuration { HubDuration(milliseconds: s * 1000) }
    public static func minutes(_ m: Int64) -> HubDuration { HubDuration(milliseconds: m * 60_000) }
    public static func hours(_ h: Int64) -> HubDuration { HubDuration(milliseconds: h * 3_600_000) }
    public static func days(_ d: Int64) -> HubDuration { HubDuration(milliseconds: d * 86_400_000) }
    public static let zero = HubDuration(milliseconds: 0)

    public static func < (a: HubDuration, b: HubDuration) -> Bool { a.milliseconds < b.milliseconds }

    /// The length in seconds.
    public var seconds: Double { Double(milliseconds) / 1000 }

    private static let units: [(String, Int64)] = [
        ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1),
    ]

    /// Parses `250ms`, `5s`, `1.5h`, `1h 15m`, `1h15m`. Returns `nil` for anything else.
    public init?(parsing text: String) {
        guard case .duration(let value) = Self.read(text) else { return nil }
        self = value
    }

    /// The longest duration text read, in code points (JSON Schema's `maxLength`), the
    /// whitespace around it included: the schemas say 64 of the whole text.
    public static let maximumTextLength = 64

    /// The longest duration held, in milliseconds (about 285,000 years).
    public static let maximumMilliseconds: Double = 9.0e15

    /// What a duration text reads as.
    public enum Reading: Sendable, Equatable {
        case duration(HubDuration)
        /// Well formed, but longer than ``maximumMilliseconds``.
        case tooLong
        case malformed
    }

    /// Reads `text`, telling a duration too long to hold from one that is not a duration.
    public static func read(_ text: String) -> Reading {
        var total: Double = 0
        guard text.unicodeScalars.count <= maximumTextLength else { return .malformed }
        var chars = Substring(text.trimmingCharactersInSpaces())
        guard !chars.isEmpty else { return .malformed }
        var sawPart = false
        while !chars.isEmpty {
            chars = chars.drop { $0 == " " }
            if chars.isEmpty { break }
            let number = chars.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            // Digits, and a fraction only after a digit and with digits: what the parameter
            // schemas' pattern says (``Schema/durationPattern``), so `.5h` and `1.h` are not durations.
            let parts = number.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty }), let value = Double(number) else {
                return .malformed
            }
            chars = chars.dropFirst(number.count)
            let unitText = chars.prefix { $0.isASCII && $0.isLetter }
            chars = chars.dropFirst(unitText.count)
            guard let unit = Self.units.first(where: { $0.0 == unitText }) else { return .malformed }
            total += value * Double(unit.1)
            sawPart = true
        }
        guard sawPart else { return .malformed }
        guard total.isFinite, total < maximumMilliseconds else { return .tooLong }
        return .duration(HubDuration(milliseconds: Int64(total.rounded())))
    }

    /// The canonical text: the largest units first, e.g. `1h 15m`, `250ms`, `0s`.
    public var description: String {
        if milliseconds == 0 { return "0s" }
        var rest = milliseconds
        var parts: [String] = []
        for (name, size) in Self.units where rest >= size {
            parts.append("\(rest / size)\(name)")
            rest %= size
        }
        return parts.joined(separator: " ")
    }

    /// A measured span printed with a fraction, as `metrics.execution_time` is: `2.3ms`, `1.25s`.
    public static func formatMeasured(seconds: Double) -> String {
        if seconds < 1 {
            let ms = (seconds * 10_000).rounded() / 10
            return "\(ms)ms"
        }
        if seconds < 60 {
            let s = (seconds * 100).rounded() / 100
            return "\(s)s"
        }
        return HubDuration(milliseconds: Int64((seconds * 1000).rounded())).description
    }
}

extension String {
    func trimmingCharactersInSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

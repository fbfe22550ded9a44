import Synchronization

/// The id rule of §2: `^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`.
///
/// Ids become segments of event subjects and parts of file names, so this rule
/// is also a security boundary: no dots, no slashes, no empty ids.
public enum Identifier {
    /// Longest id accepted.
    public static let maximumLength = 128

    /// Whether `id` matches the id rule (operation names are checked separately).
    public static func isValid(_ id: String) -> Bool {
        let bytes = id.utf8
        guard let first = bytes.first, bytes.count <= maximumLength, isAlphanumeric(first) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func isAlphanumeric(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
    }

    /// Why `id` is not a valid id, for error messages; `nil` when it is valid.
    public static func problem(with id: String) -> String? {
        if id.isEmpty { return "is empty" }
        if id.utf8.count > maximumLength { return "is longer than \(maximumLength) characters" }
        if !isValid(id) {
            return "must start with a letter or digit and contain only letters, digits, '_' and '-'"
        }
        return nil
    }
}

/// Makes the prefixed ids the hub hands out (`evt_…`, `lease_…`, `chkpt_…`).
public protocol IDGenerator: Sendable {
    /// A new id starting with `prefix` and `_`, unique across the store.
    func make(_ prefix: String) -> String
}

/// Ids of 128 bits, as ULIDs are: the time in milliseconds (48 bits), so that ids sort
/// roughly by creation, a per-process counter (16 bits), so that ids made in the same
/// millisecond by this process differ whatever the random part, and 64 random bits, so
/// that ids of other processes differ and none can be guessed. One call to the system's
/// random source per id (the publish path makes one per event).
public struct RandomIDGenerator: IDGenerator {
    private let clock: any WallClock
    private static let counter = Atomic<UInt64>(0)

    public init(clock: any WallClock = SystemClock()) { self.clock = clock }

    private static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)

    public func make(_ prefix: String) -> String {
        let count = Self.counter.add(1, ordering: .relaxed).newValue & 0xFFFF
        var high = UInt64(max(0, clock.nowMilliseconds())) << 16 | count
        var generator = SystemRandomNumberGenerator()
        var low = generator.next()
        // Written into the string's own storage: one allocation per id.
        let head = prefix.utf8.count
        return String(unsafeUninitializedCapacity: head + 27) { out in
            var next = out.initialize(fromContentsOf: prefix.utf8)
            out[next] = UInt8(ascii: "_")
            next += 1
            for i in stride(from: next + 25, through: next + 13, by: -1) {
                out[i] = Self.alphabet[Int(low & 31)]
                low >>= 5
            }
            for i in stride(from: next + 12, through: next, by: -1) {
                out[i] = Self.alphabet[Int(high & 31)]
                high >>= 5
            }
            return next + 26
        }
    }
}

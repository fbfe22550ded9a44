import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

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
    /// `count` new ids at once, for a batch (a generator may make them more cheaply together).
    func make(_ prefix: String, count: Int) -> [String]
}

extension IDGenerator {
    public func make(_ prefix: String, count: Int) -> [String] { (0..<count).map { _ in make(prefix) } }
}

/// Ids of 128 bits, as ULIDs are: the time in milliseconds (48 bits), so that ids sort
/// roughly by creation, a per-process counter (16 bits), so that ids made in the same
/// millisecond by this process differ whatever the random part, and 64 random bits, so
/// that ids of other processes differ and none can be guessed. One call to the system's
/// random source per id, or per 32 ids of a batch.
public struct RandomIDGenerator: IDGenerator {
    private let clock: any WallClock
    private static let counter = Atomic<UInt64>(0)

    public init(clock: any WallClock = SystemClock()) { self.clock = clock }

    private static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)

    public func make(_ prefix: String) -> String {
        let count = Self.counter.add(1, ordering: .relaxed).newValue
        var generator = SystemRandomNumberGenerator()
        return Self.id(prefix, milliseconds: clock.nowMilliseconds(), count: count, random: generator.next())
    }

    /// A publishing run made one `getrandom` call per event id, a few percent of the
    /// server's CPU; a batch takes its random bits from the system 256 bytes at a time.
    public func make(_ prefix: String, count: Int) -> [String] {
        guard count > 1 else { return count == 1 ? [make(prefix)] : [] }
        var random = [UInt64](repeating: 0, count: count)
        Self.fillRandom(&random)
        let last = Self.counter.add(UInt64(count), ordering: .relaxed).newValue
        let milliseconds = clock.nowMilliseconds()
        return random.indices.map { n in
            Self.id(prefix, milliseconds: milliseconds, count: last - UInt64(count - 1 - n), random: random[n])
        }
    }

    /// Fills `words` from the system's random source (`getentropy`, at most 256 bytes a call),
    /// or word by word from `SystemRandomNumberGenerator` should that fail.
    private static func fillRandom(_ words: inout [UInt64]) {
        let filled = words.withUnsafeMutableBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let length = min(256, buffer.count - offset)
                guard let base = buffer.baseAddress, getentropy(base + offset, length) == 0 else { return false }
                offset += length
            }
            return true
        }
        if !filled {
            var generator = SystemRandomNumberGenerator()
            for n in words.indices { words[n] = generator.next() }
        }
    }

    private static func id(_ prefix: String, milliseconds: Int64, count: UInt64, random: UInt64) -> String {
        var high = UInt64(max(0, milliseconds)) << 16 | (count & 0xFFFF)
        var low = random
        // Written into the string's own storage: one allocation per id.
        let head = prefix.utf8.count
        return String(unsafeUninitializedCapacity: head + 27) { out in
            var next = out.initialize(fromContentsOf: prefix.utf8)
            out[next] = UInt8(ascii: "_")
            next += 1
            for i in stride(from: next + 25, through: next + 13, by: -1) {
                out[i] = alphabet[Int(low & 31)]
                low >>= 5
            }
            for i in stride(from: next + 12, through: next, by: -1) {
                out[i] = alphabet[Int(high & 31)]
                high >>= 5
            }
            return next + 26
        }
    }
}

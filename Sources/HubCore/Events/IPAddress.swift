/// An IPv4 or IPv6 address, parsed by hand so that webhook hosts are read one
/// way only: IPv4 in canonical dotted-quad form (`a.b.c.d`, decimal, no leading
/// zeros) and IPv6 as RFC 4291 text without a zone.
///
/// Lenient forms that `inet_aton` accepts (`2130706433`, `0177.0.0.1`, `127.1`,
/// `0x7f.0.0.1`) are deliberately not parsed: different resolvers read them
/// differently, which is how allowlists get bypassed.
struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    enum Family: Hashable, Sendable {
        case v4
        case v6
    }

    let family: Family
    /// The address bits, left-aligned for IPv4 (IPv4 uses the top 32 bits of `high`).
    let high: UInt64
    let low: UInt64

    init(v4 value: UInt32) {
        family = .v4
        high = UInt64(value) << 32
        low = 0
    }

    init(v6 high: UInt64, _ low: UInt64) {
        family = .v6
        self.high = high
        self.low = low
    }

    var bitWidth: Int { family == .v4 ? 32 : 128 }

    var v4Value: UInt32 { UInt32(truncatingIfNeeded: high >> 32) }

    /// The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), which
    /// connects to that IPv4 address on a dual-stack socket; `self` otherwise.
    var unmapped: IPAddress {
        guard family == .v6, high == 0, low >> 32 == 0xFFFF else { return self }
        return IPAddress(v4: UInt32(truncatingIfNeeded: low))
    }

    /// Parses a canonical dotted-quad IPv4 address or an IPv6 address (no brackets, no zone).
    init?<Text: StringProtocol>(_ text: Text) {
        if let v4 = Self.parseIPv4(text) {
            self.init(v4: v4)
        } else if let v6 = Self.parseIPv6(text) {
            self.init(v6: v6.0, v6.1)
        } else {
            return nil
        }
    }

    /// `a.b.c.d` with four decimal parts of 0–255 and no leading zeros.
    static func parseIPv4<Text: StringProtocol>(_ text: Text) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCIIDigit),
                part.count == 1 || part.first != "0", let n = UInt32(part), n <= 255
            else { return nil }
            value = value << 8 | n
        }
        return value
    }

    /// RFC 4291 text: eight groups of 1–4 hex digits, at most one `::`, an optional
    /// dotted-quad IPv4 tail.
    static func parseIPv6<Text: StringProtocol>(_ text: Text) -> (UInt64, UInt64)? {
        guard text.count <= 45, text.contains(":") else { return nil }
        let bytes = Array(text.utf8)
        var doubleColon: Int? = nil
        for i in 0..<(bytes.count - 1) where bytes[i] == UInt8(ascii: ":") && bytes[i + 1] == UInt8(ascii: ":") {
            // A second `::` (or `:::`) is ambiguous.
            guard doubleColon == nil else { return nil }
            doubleColon = i
        }
        func split(_ slice: ArraySlice<UInt8>) -> [Substring] {
            slice.isEmpty
                ? [] : String(decoding: slice, as: UTF8.self).split(separator: ":", omittingEmptySubsequences: false)
        }
        let compressed = doubleColon != nil
        let head: [Substring]
        let tail: [Substring]
        if let doubleColon {
            head = split(bytes[..<doubleColon])
            tail = split(bytes[(doubleColon + 2)...])
        } else {
            head = split(bytes[...])
            tail = []
        }
        func groups(_ parts: [Substring], ipv4Allowed: Bool) -> [UInt16]? {
            var out: [UInt16] = []
            for (index, part) in parts.enumerated() {
                if ipv4Allowed, index == parts.count - 1, part.contains(".") {
                    guard let v4 = parseIPv4(part) else { return nil }
                    out.append(UInt16(truncatingIfNeeded: v4 >> 16))
                    out.append(UInt16(truncatingIfNeeded: v4))
                } else {
                    guard (1...4).contains(part.count), part.allSatisfy(\.isHexDigit), part.allSatisfy(\.isASCII),
                        let group = UInt16(part, radix: 16)
                    else { return nil }
                    out.append(group)
                }
            }
            return out
        }
        guard let headGroups = groups(head, ipv4Allowed: !compressed),
            let tailGroups = groups(tail, ipv4Allowed: compressed)
        else { return nil }
        let count = headGroups.count + tailGroups.count
        guard compressed ? count <= 7 : count == 8 else { return nil }
        let all = headGroups + Array(repeating: 0, count: 8 - count) + tailGroups
        var high: UInt64 = 0
        var low: UInt64 = 0
        for group in all[0..<4] { high = high << 16 | UInt64(group) }
        for group in all[4..<8] { low = low << 16 | UInt64(group) }
        return (high, low)
    }

    /// Canonical text: dotted quad, or RFC 5952 IPv6 (lowercase, longest zero run compressed).
    var description: String {
        if family == .v4 {
            let v = v4Value
            return [v >> 24, v >> 16 & 0xFF, v >> 8 & 0xFF, v & 0xFF].map(String.init).joined(separator: ".")
        }
        let groups = (0..<8).map { i -> UInt16 in
            let word = i < 4 ? high : low
            return UInt16(truncatingIfNeeded: word >> (48 - 16 * UInt64(i % 4)))
        }
        if high == 0, low >> 32 == 0xFFFF {
            return "::ffff:" + IPAddress(v4: UInt32(truncatingIfNeeded: low)).description
        }
        var bestStart = -1
        var bestLength = 1
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            var end = index
            while end < 8 && groups[end] == 0 { end += 1 }
            if end - index > bestLength {
                bestStart = index
                bestLength = end - index
            }
            index = end
        }
        func hex(_ range: Range<Int>) -> String {
            groups[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard bestStart >= 0 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }
}

/// An address block such as `10.0.0.0/8` or `fc00::/7`.
struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    let address: IPAddress
    let prefix: Int

    /// A block whose host bits are zero; `nil` when `prefix` is out of range or host bits are set.
    init?(_ address: IPAddress, prefix: Int) {
        guard (0...address.bitWidth).contains(prefix), Self.mask(address, prefix) == address else { return nil }
        self.address = address
        self.prefix = prefix
    }

    /// The block of `prefix` bits (clamped to the address's width) around `address`.
    init(masking address: IPAddress, _ prefix: Int) {
        let prefix = min(max(0, prefix), address.bitWidth)
        self.address = Self.mask(address, prefix)
        self.prefix = prefix
    }

    /// The block of one address.
    init(single address: IPAddress) {
        self.address = address
        self.prefix = address.bitWidth
    }

    /// `address` with every bit past `prefix` cleared.
    static func mask(_ address: IPAddress, _ prefix: Int) -> IPAddress {
        // IPv4 is left-aligned in `high`, so one rule serves both families.
        func keep(_ word: UInt64, _ bits: Int) -> UInt64 {
            bits <= 0 ? 0 : bits >= 64 ? word : word & ~(UInt64.max >> UInt64(bits))
        }
        let high = keep(address.high, prefix)
        let low = keep(address.low, prefix - 64)
        return address.family == .v4 ? IPAddress(v4: UInt32(truncatingIfNeeded: high >> 32)) : IPAddress(v6: high, low)
    }

    func contains(_ other: IPAddress) -> Bool {
        other.family == address.family && Self.mask(other, prefix) == address
    }

    /// Whether every address of `self` lies in `other`.
    func isWithin(_ other: IPNetwork) -> Bool {
        prefix >= other.prefix && other.contains(address)
    }

    var description: String { "\(address)/\(prefix)" }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isWholeNumber }
}

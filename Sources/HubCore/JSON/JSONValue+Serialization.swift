/// How ``JSONValue/serialized(_:)`` lays out its text.
public enum JSONLayout: Sendable {
    /// One line, no spaces, keys in insertion order.
    case compact
    /// Two-space indentation, keys in insertion order.
    case pretty
    /// One line, keys sorted by their UTF-8 bytes: the form checksums are taken over.
    case canonical
}

extension JSONValue {
    /// The document as JSON text.
    public func serialized(_ layout: JSONLayout = .compact) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out, layout: layout, indent: 0)
        return String(decoding: out, as: UTF8.self)
    }

    /// The document as UTF-8 JSON bytes.
    public func serializedBytes(_ layout: JSONLayout = .compact) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out, layout: layout, indent: 0)
        return out
    }

    func write(into out: inout [UInt8], layout: JSONLayout, indent: Int) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): Self.writeInteger(i, into: &out)
        case .double(let d):
            if !d.isFinite {
                out.append(contentsOf: "null".utf8)
            } else if d.rounded() == d, abs(d) < 1e15 {
                out.append(contentsOf: String(Int64(d)).utf8)
                out.append(contentsOf: ".0".utf8)
            } else {
                out.append(contentsOf: String(d).utf8)
            }
        case .string(let s): Self.writeString(s, into: &out)
        case .array(let items):
            if items.isEmpty {
                out.append(contentsOf: "[]".utf8)
                return
            }
            out.append(UInt8(ascii: "["))
            for (n, item) in items.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                if layout == .pretty { Self.newline(&out, indent + 1) }
                item.write(into: &out, layout: layout, indent: indent + 1)
            }
            if layout == .pretty { Self.newline(&out, indent) }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            if members.isEmpty {
                out.append(contentsOf: "{}".utf8)
                return
            }
            out.append(UInt8(ascii: "{"))
            let keys = members.keys
            let values = members.values
            func member(_ n: Int, _ index: Int) {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                if layout == .pretty { Self.newline(&out, indent + 1) }
                Self.writeString(keys[index], into: &out)
                out.append(UInt8(ascii: ":"))
                if layout == .pretty { out.append(UInt8(ascii: " ")) }
                values[index].write(into: &out, layout: layout, indent: indent + 1)
            }
            // Output order: insertion order, or for canonical the keys' UTF-8 order (sorted
            // only when they are not in that order already, as documents built in order are).
            if layout == .canonical
                && !zip(keys, keys.dropFirst()).allSatisfy({ $0.utf8.lexicographicallyPrecedes($1.utf8) })
            {
                let order = keys.indices.sorted { keys[$0].utf8.lexicographicallyPrecedes(keys[$1].utf8) }
                for (n, index) in order.enumerated() { member(n, index) }
            } else {
                for index in keys.indices { member(index, index) }
            }
            if layout == .pretty { Self.newline(&out, indent) }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func newline(_ out: inout [UInt8], _ indent: Int) {
        out.append(0x0A)
        for _ in 0..<(indent * 2) { out.append(0x20) }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// The decimal digits of `value`, without going through a `String`.
    static func writeInteger(_ value: Int64, into out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        // The magnitude as unsigned, so Int64.min is written too.
        var rest = value.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var count = 0
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0
            for n in stride(from: count - 1, through: 0, by: -1) { out.append(buffer[n]) }
        }
    }

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(0x22)
        writeEscaped(s, into: &out)
        out.append(0x22)
    }

    /// The content of a JSON string for `s`, without its quotes.
    static func writeEscaped(_ s: String, into out: inout [UInt8]) {
        var s = s
        s.withUTF8 { bytes in
            // Copy the runs between characters that need escaping whole; most strings are one run.
            var start = 0
            for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == 0x22 || byte == 0x5C {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                start = index + 1
                out.append(0x5C)
                switch byte {
                case 0x22, 0x5C: out.append(byte)
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                default:
                    out.append(UInt8(ascii: "u"))
                    out.append(0x30)
                    out.append(0x30)
                    out.append(hex[Int(byte >> 4)])
                    out.append(hex[Int(byte & 0xF)])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
        }
    }
}

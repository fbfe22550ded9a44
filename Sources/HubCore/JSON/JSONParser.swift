import Collections

/// Parses JSON text into a ``JSONValue``.
///
/// Strict RFC 8259: no comments, no trailing commas, no duplicate keys (a
/// duplicate is almost always a mistake that would silently change behaviour),
/// nesting at most ``maximumDepth`` deep so hostile input cannot exhaust the stack.
public struct JSONParser {
    /// Deepest nesting accepted. Defaults to 128.
    public static let maximumDepth = 128

    /// Why a text is not JSON, with the byte offset where reading stopped.
    public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public var offset: Int
        public var description: String { "\(reason) at byte \(offset)" }
    }

    private let bytes: [UInt8]
    private var index = 0
    /// The members of the objects being read, innermost last: one set of arrays for the
    /// whole document instead of three that grow for every object (a request of a hundred
    /// events has two hundred objects).
    private var keyStack: [String] = []
    private var valueStack: [JSONValue] = []
    private var offsetStack: [Int] = []
    /// Whether every byte is ASCII (most documents): strings then need no UTF-8 validation.
    private let ascii: Bool

    private init(_ bytes: [UInt8]) {
        self.bytes = bytes
        ascii = bytes.withUnsafeBufferPointer { buffer in
            // Eight bytes at a time: any high bit means a non-ASCII byte somewhere.
            var combined: UInt64 = 0
            var offset = 0
            let raw = UnsafeRawBufferPointer(buffer)
            while offset + 8 <= raw.count {
                combined |= raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                offset += 8
            }
            while offset < raw.count {
                combined |= UInt64(raw[offset])
                offset += 1
            }
            return combined & 0x8080_8080_8080_8080 == 0
        }
    }

    /// Parses a complete document; anything but whitespace after it is an error.
    public static func parse(_ text: String) throws(SyntaxError) -> JSONValue {
        try parse(bytes: Array(text.utf8))
    }

    /// Parses a complete document from UTF-8 bytes.
    public static func parse(bytes: [UInt8]) throws(SyntaxError) -> JSONValue {
        try parse(bytes: bytes, extraDepth: 0)
    }

    /// Parses a complete document from UTF-8 bytes; `extraDepth` allows that many levels past
    /// ``maximumDepth``, for documents the hub writes around values that were already held to
    /// it (a bundle nests a task's payload a few levels deeper than its request did).
    public static func parse(bytes: [UInt8], extraDepth: Int) throws(SyntaxError) -> JSONValue {
        var parser = JSONParser(bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: -max(0, min(extraDepth, 64)))
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count else { throw parser.error("unexpected text after the document") }
        return value
    }

    private func error(_ reason: String) -> SyntaxError { SyntaxError(reason: reason, offset: index) }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws(SyntaxError) -> JSONValue {
        guard depth < Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth) levels") }
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character '\(Character(Unicode.Scalar(bytes[index])))'")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(SyntaxError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("unexpected end of input") }
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: count)
        for offset in 0..<count where bytes[index + offset] != expected[offset] {
            throw error("invalid literal")
        }
        index += count
    }

    private mutating func parseObject(depth: Int) throws(SyntaxError) -> JSONValue {
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object([:])
        }
        let base = keyStack.count
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let keyOffset = index
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw error("expected ':' after a key")
            }
            index += 1
            skipWhitespace()
            // The value first: an object inside it uses the stacks above this one's members.
            let value = try parseValue(depth: depth + 1)
            keyStack.append(key)
            valueStack.append(value)
            offsetStack.append(keyOffset)
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input in an object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                let members = try Self.members(keyStack[base...], valueStack[base...], offsetStack[base...])
                keyStack.removeSubrange(base...)
                valueStack.removeSubrange(base...)
                offsetStack.removeSubrange(base...)
                return .object(members)
            }
            throw error("expected ',' or '}' in an object")
        }
    }

    /// The object's members, refusing a duplicate key. Keys in increasing order (canonical
    /// documents, such as checkpoints) are distinct by that alone, and a few keys (most
    /// request objects) are compared with each other: either way the dictionary is filled at
    /// once, without hashing each key into it.
    private static func members(
        _ keys: ArraySlice<String>, _ values: ArraySlice<JSONValue>, _ offsets: ArraySlice<Int>
    ) throws(SyntaxError) -> OrderedDictionary<String, JSONValue> {
        if zip(keys, keys.dropFirst()).allSatisfy({ $0 < $1 })
            || (keys.count <= 8 && !keys.indices.contains { n in keys[..<n].contains(keys[n]) })
        {
            return OrderedDictionary(uncheckedUniqueKeys: keys, values: values)
        }
        var members = OrderedDictionary<String, JSONValue>(minimumCapacity: keys.count)
        for n in keys.indices {
            guard members.updateValue(values[n], forKey: keys[n]) == nil else {
                // Keys are compared as text: two spellings of one text (NFC and NFD) are one key,
                // which "duplicate key" alone left a reader unable to see.
                let earlier = keys[..<n].first { $0 == keys[n] }
                let spelling =
                    earlier.map { !$0.utf8.elementsEqual(keys[n].utf8) } == true
                    ? " (the same text as an earlier key in another Unicode normalization form; keys are compared as text)"
                    : ""
                throw SyntaxError(reason: "duplicate key \"\(keys[n])\"\(spelling)", offset: offsets[n])
            }
        }
        return members
    }

    private mutating func parseArray(depth: Int) throws(SyntaxError) -> JSONValue {
        index += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input in an array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            throw error("expected ',' or ']' in an array")
        }
    }

    private mutating func parseString() throws(SyntaxError) -> String {
        index += 1
        let start = index
        var runStart = index
        var plain: [UInt8] = []
        while true {
            guard index < bytes.count else { throw error("unterminated string") }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                if plain.isEmpty && runStart == start {
                    // No escapes (most strings): the text is the input's bytes as they are.
                    defer { index += 1 }
                    if ascii {
                        let range = runStart..<index
                        return bytes.withUnsafeBufferPointer { buffer in
                            String(decoding: UnsafeBufferPointer(rebasing: buffer[range]), as: UTF8.self)
                        }
                    }
                    guard let string = String(validating: bytes[runStart..<index], as: UTF8.self) else {
                        throw error("invalid UTF-8 in a string")
                    }
                    return string
                }
                plain.append(contentsOf: bytes[runStart..<index])
                index += 1
                break
            }
            if byte < 0x20 { throw error("control character in a string (escape it)") }
            if byte == UInt8(ascii: "\\") {
                plain.append(contentsOf: bytes[runStart..<index])
                index += 1
                guard index < bytes.count else { throw error("unterminated escape") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): plain.append(0x22)
                case UInt8(ascii: "\\"): plain.append(0x5C)
                case UInt8(ascii: "/"): plain.append(0x2F)
                case UInt8(ascii: "b"): plain.append(0x08)
                case UInt8(ascii: "f"): plain.append(0x0C)
                case UInt8(ascii: "n"): plain.append(0x0A)
                case UInt8(ascii: "r"): plain.append(0x0D)
                case UInt8(ascii: "t"): plain.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if (0xD800...0xDBFF).contains(code) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                            bytes[index + 1] == UInt8(ascii: "u")
                        else { throw error("unpaired surrogate in \\u escape") }
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("invalid low surrogate") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(code) {
                        throw error("unpaired surrogate in \\u escape")
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw error("invalid \\u escape") }
                    plain.append(contentsOf: Array(String(Character(scalar)).utf8))
                default:
                    throw error("invalid escape '\\\(Character(Unicode.Scalar(escape)))'")
                }
                runStart = index
                continue
            }
            index += 1
        }
        guard let string = String(validating: plain, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
        return string
    }

    private mutating func parseHex4() throws(SyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[index]
            let digit: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value * 16 + digit
            index += 1
        }
        return value
    }

    private mutating func parseNumber() throws(SyntaxError) -> JSONValue {
        let start = index
        var isInteger = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw error("leading zeros are not allowed") }
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("digits expected after '.'") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("digits expected in exponent") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if isInteger, let i = Int64(text) { return .int(i) }
        guard let d = Double(text), d.isFinite else { throw SyntaxError(reason: "number out of range", offset: start) }
        return .double(d)
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
}

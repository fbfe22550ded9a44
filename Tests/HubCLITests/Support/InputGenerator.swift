import Foundation
import HubCore
import HubTesting

/// Parameter documents for an operation: mostly shaped by its schema (so they reach
/// the handlers), with wrong types, unknown keys, odd strings, extreme numbers and
/// deep nesting mixed in.
struct InputGenerator {
    var rng: SplitMix64

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < percent }

    mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }

    static let strings = [
        "", " ", "a", "setup", "build", "code", "test", "x_1", "../etc/passwd", "/etc/passwd", "backups/",
        "backups/x.gz",
        "link/", "5m", "2h", "1h 15m", "-1s", "NaN", "null", "true", "0", "\u{0}", "\u{7}\t\n", "日本語", "🧪",
        "\"quoted\"",
        "{\"a\":1}", "a.b.c", "chkpt_456", "gen_wf", "evt_1", "high", "low", "2026-01-15T12:00:00Z", "asc", "desc",
    ]
    static let durations = ["250ms", "5s", "15m", "2h", "7d", "1h 15m", "0s", "3d 4h"]
    static let integers: [Int64] = [0, 1, 2, -1, 3, 10, 100, 10_000, 10_001, Int64(Int32.max), .max, .min]

    /// Any JSON value at all.
    mutating func anyJSON(depth: Int = 0) -> JSONValue {
        switch Int.random(in: 0..<(depth > 3 ? 5 : 8), using: &rng) {
        case 0: return .null
        case 1: return .bool(chance(50))
        case 2: return .int(pick(Self.integers))
        case 3: return .double(pick([0.5, -0.0, 1e308, -1e-308, 3.25, 2.0]))
        case 4: return .string(oddString())
        case 5, 6: return .array((0..<Int.random(in: 0...3, using: &rng)).map { _ in anyJSON(depth: depth + 1) })
        default:
            var object: JSONValue = .emptyObject
            for _ in 0..<Int.random(in: 0...3, using: &rng) { object[oddString()] = anyJSON(depth: depth + 1) }
            return object
        }
    }

    mutating func oddString() -> String {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: return String(repeating: pick(["a", "é", "🧪", "/"]), count: pick([129, 257, 5_000, 120_000]))
        case 1:
            let scalars = (0..<Int.random(in: 1...12, using: &rng)).compactMap { _ in
                Unicode.Scalar(UInt32.random(in: 0...0x2FFF, using: &rng))
            }
            return String(String.UnicodeScalarView(scalars))
        default: return pick(Self.strings)
        }
    }

    /// Nested arrays and objects `depth` levels deep (within what the JSON parser admits).
    mutating func deep(_ depth: Int) -> JSONValue {
        var value: JSONValue = .string("bottom")
        for level in 0..<depth { value = level % 2 == 0 ? .array([value]) : ["k": value] }
        return value
    }

    /// A value for `schema`: valid most of the time, else something wrong in an interesting way.
    mutating func value(for schema: Schema, depth: Int = 0) -> JSONValue {
        if chance(12) { return chance(20) ? deep(Int.random(in: 20...100, using: &rng)) : anyJSON(depth: depth) }
        switch schema.kind {
        case .string:
            if let values = schema.enumValues, chance(80) { return .string(pick(values)) }
            switch schema.format {
            case .duration?: return .string(chance(85) ? pick(Self.durations) : oddString())
            case .id?: return .string(chance(85) ? "t_\(Int.random(in: 0..<6, using: &rng))" : oddString())
            case .dateTime?: return .string(chance(85) ? "2026-01-15T12:00:00Z" : oddString())
            case nil: return .string(oddString())
            }
        case .integer:
            if chance(60), let low = schema.minimum {
                return .int(low + Int64.random(in: 0...3, using: &rng))
            }
            return .int(pick(Self.integers))
        case .number: return .double(pick([0.0, 1.5, 80, 100.5, -3]))
        case .boolean: return .bool(chance(50))
        case .array(let element):
            let count = chance(10) ? Int.random(in: 0...40, using: &rng) : Int.random(in: 0...3, using: &rng)
            return .array((0..<count).map { _ in value(for: element, depth: depth + 1) })
        case .object(let properties, let additional):
            return object(properties, additional: additional, depth: depth)
        case .anyOf(let options): return value(for: pick(options), depth: depth)
        case .any: return anyJSON(depth: depth)
        case .null: return .null
        }
    }

    mutating func object(_ properties: [Schema.Property], additional: Schema?, depth: Int) -> JSONValue {
        var object: JSONValue = .emptyObject
        for property in properties where property.required ? chance(90) : chance(45) {
            object[property.name] = value(for: property.schema, depth: depth + 1)
        }
        if let additional {
            for _ in 0..<Int.random(in: 0...2, using: &rng) {
                object[pick(Self.strings)] = value(for: additional, depth: depth + 1)
            }
        }
        if chance(8) { object[pick(["unknown", "timout", "Phases", "", "workflow-id", "ifVersion"])] = anyJSON() }
        return object
    }

    /// A whole parameter document for an operation.
    mutating func parameters(for schema: Schema) -> JSONValue {
        guard case .object(let properties, let additional) = schema.kind, chance(95) else { return anyJSON() }
        var document = object(properties, additional: additional, depth: 0)
        if chance(5) { document["workflow_id"] = chance(50) ? .string(pick(["gen_wf", "other", "../x"])) : anyJSON() }
        return document
    }

    /// Bytes for the parser: a serialized document cut, flipped or spliced, or plain noise.
    mutating func mangledBytes(of document: JSONValue) -> [UInt8] {
        var bytes = document.serializedBytes()
        switch Int.random(in: 0..<5, using: &rng) {
        case 0 where !bytes.isEmpty: bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
        case 1 where !bytes.isEmpty:
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
        case 2: bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        case 3: bytes = Array(String(repeating: "[", count: Int.random(in: 100...400, using: &rng)).utf8)
        default: bytes.insert(contentsOf: Array(pick(["\u{FEFF}", "{", "\"", ",", "1e99999", "\\u"]).utf8), at: 0)
        }
        return bytes
    }
}

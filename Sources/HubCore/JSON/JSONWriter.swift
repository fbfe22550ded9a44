/// Compact JSON written straight to bytes.
///
/// For documents on hot paths that would otherwise be built as a ``JSONValue`` tree
/// only to be serialized and freed at once — the events that publish-event echoes,
/// a hundred to a request. What it writes is what ``JSONValue/serialized(_:)`` writes
/// in the compact layout for the same members in the same order.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
    }

    public mutating func endObject() { bytes.append(UInt8(ascii: "}")) }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
    }

    public mutating func endArray() { bytes.append(UInt8(ascii: "]")) }

    /// A member's name; its value comes next.
    public mutating func key(_ name: String) {
        separate()
        JSONValue.writeString(name, into: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func string(_ value: String) {
        separate()
        JSONValue.writeString(value, into: &bytes)
    }

    /// One string made of `parts`, each escaped, without joining them first.
    public mutating func string(concatenating parts: [String]) {
        separate()
        bytes.append(0x22)
        for part in parts { JSONValue.writeEscaped(part, into: &bytes) }
        bytes.append(0x22)
    }

    public mutating func string(_ value: String?) {
        guard let value else { return null() }
        string(value)
    }

    public mutating func int(_ value: Int64) {
        separate()
        JSONValue.writeInteger(value, into: &bytes)
    }

    public mutating func int(_ value: Int) { int(Int64(value)) }

    public mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func null() {
        separate()
        bytes.append(contentsOf: "null".utf8)
    }

    public mutating func value(_ value: JSONValue) {
        separate()
        value.write(into: &bytes, layout: .compact, indent: 0)
    }

    /// A value that is already compact JSON text.
    public mutating func raw(_ json: String) {
        separate()
        var json = json
        json.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// A value that is already compact JSON text.
    public mutating func raw(_ json: [UInt8]) {
        separate()
        bytes.append(contentsOf: json)
    }

    /// The comma before a member or an element that is not the first of its container
    /// (compact text: a value follows `{`, `[` or `:` only when it is the first, or a member's).
    private mutating func separate() {
        guard let last = bytes.last else { return }
        if last != UInt8(ascii: "{") && last != UInt8(ascii: "[") && last != UInt8(ascii: ":") {
            bytes.append(UInt8(ascii: ","))
        }
    }
}

extension JSONValue {
    /// The compact text of this object with `raw` — compact JSON text — as the value of
    /// its member `key`, in that member's place: an envelope around a result that was
    /// written as bytes. Anything but an object is serialized as it is.
    public func serializedBytes(replacing key: String, with raw: [UInt8]) -> [UInt8] {
        guard case .object(let members) = self else { return serializedBytes(.compact) }
        var writer = JSONWriter(capacity: raw.count + 256)
        writer.beginObject()
        for (name, value) in members {
            writer.key(name)
            if name == key { writer.raw(raw) } else { writer.value(value) }
        }
        writer.endObject()
        return writer.bytes
    }
}

// libyaml comes with Yams as a module of the same package but not as one of its products;
// it is imported directly because Yams' composer cannot be given untrusted input (see below
// and docs/ARCHITECTURE.md, "YAML from libyaml's events").
import CYaml
import Foundation
import HubCore
import Yams

/// Reads one YAML document into a ``JSONValue`` from libyaml's events, with the limits that
/// make it safe on any input: nesting at most ``JSONParser/maximumDepth`` deep and at most
/// ``maximumValues`` values, both counted through aliases, which are expanded as they are met.
///
/// Yams' own composer builds a graph of shared nodes first and checks nothing: a chain of
/// anchors each naming the one before (`a1: &a1 [*a0]`) makes a graph tens of thousands of
/// levels deep from a megabyte of text, and releasing it — or hashing it, which the composer
/// does to every mapping key — recursed until the stack overflowed. Here every value knows its
/// height and size when it is made, so an alias that would go too deep or too large is refused
/// before anything is built from it, and nothing is ever walked recursively.
enum YAMLReader {
    /// Most values a document may expand to. Aliases repeat what they name, so a kilobyte
    /// of anchors can stand for billions of values.
    static let maximumValues = 1_000_000

    /// What went wrong, in words for the caller's error.
    struct Problem: Error {
        let message: String
        let details: String
    }

    /// The document's value, or `nil` when the text holds no document (empty, or comments only).
    static func read(_ bytes: [UInt8]) throws(Problem) -> JSONValue? {
        // A UTF-8 byte order mark (Windows editors write one) is not part of the text: with the
        // encoding set, libyaml would read it as a character and misplace the first line's column.
        let bytes = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw Problem(message: "is not UTF-8 text", details: "Save the file as UTF-8.")
        }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw Problem(message: "could not be read (out of memory)", details: "")
        }
        defer { yaml_parser_delete(&parser) }
        return try bytes.withUnsafeBufferPointer { buffer throws(Problem) -> JSONValue? in
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var reader = Reader()
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { throw syntaxError(parser) }
                defer { yaml_event_delete(&event) }
                if try reader.take(event) { return reader.document }
            }
        }
    }

    private static func syntaxError(_ parser: yaml_parser_t) -> Problem {
        let problem = parser.problem.map { String(cString: $0) } ?? "unreadable"
        let context = parser.context.map { String(cString: $0) + " " } ?? ""
        return Problem(
            message:
                "is not valid YAML: \(context)\(problem) at line \(parser.problem_mark.line + 1), column \(parser.problem_mark.column + 1)",
            details: "Fix the YAML syntax.")
    }

    /// A finished value with what the limits need: how deep it goes (a scalar is 1) and how
    /// many values it holds, itself included.
    private struct Built {
        var value: JSONValue
        var height: Int
        var count: Int
        /// A scalar's text as written, for when it is used as a key.
        var text: String?
    }

    /// A collection still open, with its anchor.
    private struct Open {
        enum Kind {
            case sequence([JSONValue])
            case mapping(JSONValue, key: String?)
        }
        var kind: Kind
        var anchor: String?
        var height = 1
        var count = 1
    }

    private struct Reader {
        var stack: [Open] = []
        var anchors: [String: Built] = [:]
        var budget = YAMLReader.maximumValues
        var document: JSONValue?
        var documents = 0

        /// Takes one event; true when the stream has ended.
        mutating func take(_ event: yaml_event_t) throws(Problem) -> Bool {
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return true
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                guard documents == 1 else {
                    throw Problem(
                        message: "holds more than one YAML document", details: "Give one document (no second ---).")
                }
            case YAML_SCALAR_EVENT:
                let s = event.data.scalar
                let text = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
                let tag = s.tag.map { String(cString: $0) }
                let built = Built(
                    value: YAMLReader.scalar(text, tag: tag, plain: s.style == YAML_PLAIN_SCALAR_STYLE), height: 1,
                    count: 1, text: text)
                try place(built, anchor: s.anchor.map { String(cString: $0) })
            case YAML_ALIAS_EVENT:
                let name = event.data.alias.anchor.map { String(cString: $0) } ?? ""
                guard let built = anchors[name] else {
                    throw Problem(
                        message: "uses the alias *\(name) before its anchor &\(name)",
                        details: "An alias (*name) repeats a value anchored (&name) earlier in the document.")
                }
                try place(built, anchor: nil)
            case YAML_SEQUENCE_START_EVENT:
                try open(.sequence([]), anchor: event.data.sequence_start.anchor.map { String(cString: $0) })
            case YAML_MAPPING_START_EVENT:
                try open(
                    .mapping(.emptyObject, key: nil),
                    anchor: event.data.mapping_start.anchor.map { String(cString: $0) })
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let done = stack.popLast() else { break }
                let value: JSONValue
                switch done.kind {
                case .sequence(let items): value = .array(items)
                case .mapping(let object, _): value = object
                }
                // Its size was charged as its members arrived; only its parent learns of it now.
                try place(
                    Built(value: value, height: done.height, count: done.count), anchor: done.anchor, charged: true)
            default:
                break  // stream and document starts and ends carry nothing
            }
            return false
        }

        private mutating func open(_ kind: Open.Kind, anchor: String?) throws(Problem) {
            guard stack.count < JSONParser.maximumDepth else { throw YAMLReader.tooDeep }
            try charge(1)
            stack.append(Open(kind: kind, anchor: anchor))
        }

        private mutating func charge(_ count: Int) throws(Problem) {
            budget -= count
            guard budget >= 0 else {
                throw Problem(
                    message: "expands to more than \(YAMLReader.maximumValues) values",
                    details: "Aliases (*name) repeat what their anchor names; nothing was read past the limit.")
            }
        }

        /// Puts a finished value into the collection open around it (or makes it the document).
        private mutating func place(_ built: Built, anchor: String?, charged: Bool = false) throws(Problem) {
            guard stack.count + built.height <= JSONParser.maximumDepth else { throw YAMLReader.tooDeep }
            if !charged { try charge(built.count) }
            if let anchor { anchors[anchor] = built }
            guard var parent = stack.popLast() else {
                document = built.value
                return
            }
            parent.height = max(parent.height, built.height + 1)
            parent.count += built.count
            switch parent.kind {
            case .sequence(var items):
                parent.kind = .sequence([])  // the array is uniquely referenced while it grows
                items.append(built.value)
                parent.kind = .sequence(items)
            case .mapping(var object, let key):
                parent.kind = .mapping(.emptyObject, key: nil)
                if let key {
                    object[key] = built.value
                    parent.kind = .mapping(object, key: nil)
                } else {
                    guard let name = built.text else {
                        throw Problem(message: "has a key that is not a string", details: "YAML keys must be strings.")
                    }
                    guard object[name] == nil else {
                        throw Problem(
                            message: "has the key \"\(name.prefix(64))\" twice in one mapping",
                            details: "Give each key once.")
                    }
                    parent.kind = .mapping(object, key: name)
                    // A key is not a value of the document.
                    parent.count -= built.count
                    budget += built.count
                }
            }
            stack.append(parent)
        }
    }

    private static let tooDeep = Problem(
        message: "is nested more than \(JSONParser.maximumDepth) levels deep",
        details: "Aliases count at the depth they are used; nothing was read past the limit.")

    /// A scalar as JSON: plain scalars that read as booleans, integers, finite numbers or null
    /// are those (Yams' rules, which YAML 1.1 files expect), everything else is a string.
    static func scalar(_ text: String, tag: String?, plain: Bool) -> JSONValue {
        guard plain else { return .string(text) }
        let node = Node.Scalar(text, Tag(tag.map(Tag.Name.init(rawValue:)) ?? .implicit), .plain)
        if tag == Tag.Name.str.rawValue { return .string(text) }
        if let b = Bool.construct(from: node) { return .bool(b) }
        if let i = Int.construct(from: node) { return .int(Int64(i)) }
        if let d = Double.construct(from: node), d.isFinite { return .double(d) }
        if NSNull.construct(from: node) != nil { return .null }
        return .string(text)
    }
}

import Foundation
import HubCore
import Yams

/// Reads the parameters argument: inline JSON, `@file` (JSON, or YAML for
/// `.yaml`/`.yml`), or `-` for standard input (§2).
enum ParameterSource {
    /// Largest parameter document read.
    static let maximumSize = CommandLineTool.maximumParameterBytes

    static func read(_ argument: String?, standardInput: () -> [UInt8]) throws(HubError) -> JSONValue {
        guard let argument else { return .emptyObject }
        let document: JSONValue
        if argument == "-" {
            let bytes = standardInput()
            guard bytes.count <= maximumSize else {
                throw HubError(
                    .invalidArguments, "Standard input is larger than \(maximumSize) bytes",
                    details: "Parameters are one JSON object; nothing was read past the limit.")
            }
            document = try parse(bytes, what: "standard input")
        } else if argument.hasPrefix("@") {
            document = try readDocument(path: String(argument.dropFirst()), what: "parameter file")
        } else {
            document = try parse(Array(argument.utf8), what: "parameter document")
        }
        guard case .object = document else {
            throw HubError(
                .invalidArguments, "Parameters must be a JSON object, got \(document.typeName)",
                details: "Pass an object such as '{\"name\": \"x\"}'.", suggestions: ["Wrap the parameters in { }"])
        }
        return document
    }

    static func readDocument(path: String, what: String) throws(HubError) -> JSONValue {
        guard !path.isEmpty, let data = FileManager.default.contents(atPath: path) else {
            throw HubError(
                .invalidArguments, "Cannot read \(what) \(path.isEmpty ? "(empty path)" : path)",
                details: "Check that the file exists and is readable.",
                suggestions: ["Pass the parameters inline instead"])
        }
        guard data.count <= maximumSize else {
            throw HubError(.invalidArguments, "\(what) \(path) is larger than \(maximumSize) bytes")
        }
        let lower = path.lowercased()
        if lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") { return try yaml(data, what: "\(what) \(path)") }
        return try parse([UInt8](data), what: "\(what) \(path)")
    }

    static func parse(_ bytes: [UInt8], what: String) throws(HubError) -> JSONValue {
        do {
            return try JSONParser.parse(bytes: bytes)
        } catch {
            throw HubError(
                .invalidArguments, "The \(what) is not valid JSON: \(error.description)",
                details: "Pass one JSON object; quote it for the shell: '{\"key\": \"value\"}'.",
                suggestions: ["Check the JSON with a validator", "Put the parameters in a file and pass @file.json"])
        }
    }

    static func yaml(_ data: Data, what: String) throws(HubError) -> JSONValue {
        do {
            guard let text = String(data: data, encoding: .utf8), let node = try Yams.compose(yaml: text) else {
                return .emptyObject
            }
            var budget = maximumValues
            return try convert(node, depth: 0, budget: &budget)
        } catch let error as HubError {
            throw error
        } catch {
            throw HubError(
                .invalidArguments, "The \(what) is not valid YAML: \(error)", details: "Fix the YAML syntax.")
        }
    }

    /// Most values a YAML document may expand to. Aliases repeat what they name, so a
    /// kilobyte of anchors can stand for billions of values.
    static let maximumValues = 1_000_000

    private static func convert(_ node: Node, depth: Int, budget: inout Int) throws(HubError) -> JSONValue {
        guard depth < JSONParser.maximumDepth else { throw HubError(.invalidArguments, "YAML nested too deeply") }
        budget -= 1
        guard budget >= 0 else {
            throw HubError(
                .invalidArguments, "The YAML expands to more than \(maximumValues) values",
                details: "Aliases (*name) repeat what their anchor names; nothing was read past the limit.",
                suggestions: ["Write the values out, or pass the parameters as JSON"])
        }
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain {
                if let b = Bool.construct(from: scalar) { return .bool(b) }
                if let i = Int.construct(from: scalar) { return .int(Int64(i)) }
                if let d = Double.construct(from: scalar), d.isFinite { return .double(d) }
                if NSNull.construct(from: scalar) != nil { return .null }
            }
            return .string(scalar.string)
        case .sequence(let sequence):
            var items: [JSONValue] = []
            for child in sequence { items.append(try convert(child, depth: depth + 1, budget: &budget)) }
            return .array(items)
        case .mapping(let mapping):
            var object: JSONValue = .emptyObject
            for (key, value) in mapping {
                guard let name = key.string else { throw HubError(.invalidArguments, "YAML keys must be strings") }
                object[name] = try convert(value, depth: depth + 1, budget: &budget)
            }
            return object
        case .alias:
            throw HubError(.invalidArguments, "YAML aliases are not supported in parameters")
        }
    }
}

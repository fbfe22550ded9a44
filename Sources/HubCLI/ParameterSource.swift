import Foundation
import HubCore

/// Reads the parameters argument: inline JSON, `@file` (JSON, or YAML for
/// `.yaml`/`.yml`), or `-` for standard input (§2).
enum ParameterSource {
    /// Largest parameter document read.
    static let maximumSize = CommandLineTool.maximumParameterBytes

    static func read(_ argument: String?, standardInput: () -> [UInt8]) throws(HubError) -> JSONValue {
        guard let argument else { return .emptyObject }
        let document = try self.document(argument, standardInput: standardInput)
        guard case .object = document else {
            throw HubError(
                .invalidArguments, "Parameters must be a JSON object, got \(document.typeName)",
                details: "Pass an object such as '{\"name\": \"x\"}'.", suggestions: ["Wrap the parameters in { }"])
        }
        return document
    }

    /// The JSON document `argument` names (inline, `@file` or `-`), whatever its type: the
    /// caller says what it must be (parameters, a request envelope).
    static func document(_ argument: String, standardInput: () -> [UInt8]) throws(HubError) -> JSONValue {
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
        return document
    }

    /// The document in the file at `path`: JSON, or YAML for `.yaml`/`.yml`. A YAML file that
    /// holds no document (empty, or comments only) is `emptyYAML` when given, else refused.
    static func readDocument(path: String, what: String, emptyYAML: JSONValue? = nil) throws(HubError) -> JSONValue {
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
        if lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") {
            return try yaml([UInt8](data), what: "\(what) \(path)", empty: emptyYAML)
        }
        // A byte-order mark, as editors on some systems write (YAML's reader skips it too).
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        return try parse(bytes, what: "\(what) \(path)")
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

    static func yaml(_ bytes: [UInt8], what: String, empty: JSONValue?) throws(HubError) -> JSONValue {
        let document: JSONValue?
        do {
            document = try YAMLReader.read(bytes)
        } catch {
            throw HubError(.invalidArguments, "The \(what) \(error.message)", details: error.details)
        }
        guard let document = document ?? empty else {
            throw HubError(
                .invalidArguments, "The \(what) holds no YAML document",
                details: "It is empty or holds only comments.", suggestions: ["Write {} for no parameters"])
        }
        return document
    }
}

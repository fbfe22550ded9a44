import Foundation
import HubCore
import HubTesting
import Testing

/// A fresh working directory with the built `coordination-hub` run in it, as a
/// user would: state under `.claude/coordination` unless told otherwise.
struct CLISandbox {
    let directory: TemporaryDirectory
    var runner: ExecutableRunner

    init(_ label: String, environment: [String: String] = [:]) throws {
        directory = try TemporaryDirectory(label)
        runner = ExecutableRunner(workingDirectory: directory.path, environment: environment)
    }

    /// The default state directory under the working directory.
    var stateDirectory: String { directory.file(".claude/coordination") }

    /// A path under the state directory.
    func state(_ relative: String) -> String { "\(stateDirectory)/\(relative)" }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    func write(_ text: String, to path: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Runs the executable with these words.
    @discardableResult
    func run(_ arguments: String..., stdin: String? = nil) throws -> ExecutableRunner.Outcome {
        try runner.run(arguments, stdin: stdin)
    }

    /// Runs an operation that must succeed (exit 0, `status: success`) and returns its `result`.
    @discardableResult
    func succeed(_ arguments: String..., stdin: String? = nil, sourceLocation: SourceLocation = #_sourceLocation)
        throws -> JSONValue
    {
        let outcome = try runner.run(arguments, stdin: stdin)
        #expect(
            outcome.status == 0, "\(arguments) exited \(outcome.status): \(outcome.stdout)",
            sourceLocation: sourceLocation)
        #expect(
            outcome.json["status"]?.stringValue == "success", "\(arguments): \(outcome.stdout) \(outcome.stderr)",
            sourceLocation: sourceLocation)
        return outcome.json["result"] ?? .null
    }

    /// Runs an operation that must fail with `code` and exit status `exit`; returns the `error` object.
    @discardableResult
    func fail(
        _ arguments: [String], code: String, exit: Int32, stdin: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> JSONValue {
        let outcome = try runner.run(arguments, stdin: stdin)
        #expect(outcome.errorCode == code, "\(arguments): \(outcome.stdout)", sourceLocation: sourceLocation)
        #expect(outcome.status == exit, "\(arguments) exited \(outcome.status)", sourceLocation: sourceLocation)
        #expect(outcome.json["status"]?.stringValue == "error", sourceLocation: sourceLocation)
        let message = outcome.json["error"]?["message"]?.stringValue ?? ""
        #expect(message.count > 0, "an error must say what is wrong", sourceLocation: sourceLocation)
        return outcome.json["error"] ?? .null
    }

    /// `workflow_state` of `get-status`.
    func workflowState(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONValue {
        try succeed(id, "get-status", sourceLocation: sourceLocation)["workflow_state"] ?? .null
    }

    /// Everything a change would touch: every workflow's status, version and archived flag, and the last event.
    func fingerprint() throws -> String {
        let listed = try run("list-workflows", #"{"include_archived": true, "limit": 10000}"#)
        #expect(listed.status == 0, "list-workflows failed: \(listed.stdout)")
        let list = listed.json
        let workflows = (list["result"]?["workflows"]?.arrayValue ?? []).map { w in
            let id = w["id"]?.stringValue ?? "?"
            let status = w["status"]?.stringValue ?? "?"
            return "\(id):\(status):\(w["state_version"]?.intValue ?? -1):\(w["archived"]?.boolValue ?? false)"
        }
        let events = try run("get-events", #"{"order": "desc", "limit": 1}"#)
        #expect(events.status == 0, "get-events failed: \(events.stdout)")
        let last = events.json["result"]?["last_sequence"]
        return workflows.sorted().joined(separator: ",") + " last_event=\(last?.intValue ?? 0)"
    }

    /// Runs `body` and checks that it changed nothing in the store.
    func expectUnchanged(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) throws {
        let before = try fingerprint()
        try body()
        let after = try fingerprint()
        #expect(before == after, "the store changed", sourceLocation: sourceLocation)
    }

    func remove() { directory.remove() }
}

extension JSONValue {
    /// The strings of an array of strings (empty for anything else).
    var strings: [String] { arrayValue?.compactMap(\.stringValue) ?? [] }
}

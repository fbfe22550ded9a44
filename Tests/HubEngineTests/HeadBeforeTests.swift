import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

/// The workspace's HEAD before a task's first run, recorded by the claim that first hands out a
/// task asking for a commit and returned with every claim of it after: a retry's runner took
/// any HEAD it found as evidence, another task's commit included (§16).
@Suite struct HeadBeforeTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    /// Runs `script` with /bin/sh in `directory`; answers its output, trimmed.
    @discardableResult
    static func shell(_ script: String, in directory: String) throws -> String {
        let process = Process()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(script) failed")
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static let repository = "git init -q . && git config user.email t@t && git config user.name t"

    /// A workspace inside the test's directory, made by `script`.
    func workspace(_ script: String) throws -> String {
        let path = t.directory.file("ws")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        if !script.isEmpty { try Self.shell(script, in: path) }
        return path
    }

    func claim(_ evidence: String = #"{"commit": true}"#, workspace: String) async throws -> JSONValue {
        await t.run(
            "w1", "create",
            "{\"workspace\": \"\(workspace)\", \"phases\": [{\"name\": \"p\", \"tasks\": [{\"task_id\": \"a\", \"evidence\": \(evidence)}]}]}"
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        return try #require(await t.claim("ag").first)
    }

    @Test func theHeadBeforeTheFirstRunIsKeptForTheRetries() async throws {
        let path = try workspace(Self.repository + " && git commit -q --allow-empty -m before")
        let before = try Self.shell("git rev-parse HEAD", in: path)
        let first = try await claim(workspace: path)
        #expect(first["head_before"]?.stringValue == before, "\(first)")
        // The first run commits, then fails: its commit is not what the retry is told was there.
        try Self.shell("git commit -q --allow-empty -m work", in: path)
        let lease = first["lease_id"]?.stringValue ?? ""
        #expect(await t.run(nil, "fail-task", "{\"lease_id\": \"\(lease)\"}").succeeded)
        let retry = try #require(await t.claim("ag").first)
        #expect(retry["attempt"] == 2)
        #expect(retry["head_before"]?.stringValue == before, "\(retry)")
    }

    @Test func aRepositoryWithoutCommitsHasAnEmptyHeadBefore() async throws {
        let path = try workspace(Self.repository)
        #expect(try await claim(workspace: path)["head_before"] == "")
    }

    @Test func noHeadBeforeWithoutARepositoryOrACommitAsked() async throws {
        let path = try workspace("")
        #expect(try await claim(workspace: path)["head_before"] == .null)
        let other = try TestHub()
        defer { other.remove() }
        await other.run("w2", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "b"}]}]}"#)
        await other.run("w2", "start")
        await other.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        #expect(await other.claim("ag").first?["head_before"] == .null)
    }
}

import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

@Suite struct EvidenceEngineTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    /// Starts w1 with one task requiring `evidence` (none for `null`) and claims it.
    func start(_ evidence: String) async -> String {
        let requirement = evidence == "null" ? "" : ", \"evidence\": \(evidence)"
        await t.run(
            "w1", "create", "{\"phases\": [{\"name\": \"p\", \"tasks\": [{\"task_id\": \"a\"\(requirement)}]}]}")
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let tasks = await t.run(nil, "claim-task", #"{"agent_id": "ag"}"#).result["tasks"]?.arrayValue ?? []
        return tasks.first?["lease_id"]?.stringValue ?? ""
    }

    func status() async -> JSONValue? {
        await t.run("w1", "get-status").result["workflow_state"]?["phases"]?.arrayValue?.first?["tasks"]?.arrayValue?
            .first?["status"]
    }

    @Test func requiredFilesMustExistAndTheirChecksumIsRecorded() async throws {
        let lease = await start(#"{"files": ["out.txt"], "check_command": "grep -q done out.txt"}"#)
        let missing = await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}")
        #expect(missing.errorCode == "EVIDENCE_MISSING")
        #expect(await status() == "running")
        try "not yet\n".write(toFile: t.directory.file("out.txt"), atomically: true, encoding: .utf8)
        let failing = await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}")
        #expect(failing.errorCode == "EVIDENCE_REJECTED")
        #expect(failing.error?.context?["exit_code"] == 1)
        try "done\n".write(toFile: t.directory.file("out.txt"), atomically: true, encoding: .utf8)
        let wrongSum = await t.run(
            nil, "complete-task", "{\"lease_id\": \"\(lease)\", \"evidence\": {\"files\": {\"out.txt\": \"00\"}}}")
        #expect(wrongSum.errorCode == "EVIDENCE_REJECTED")
        let done = await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}")
        #expect(done.succeeded)
        #expect(
            done.result["evidence"]?["files"]?.arrayValue?.first?["sha256"]?.stringValue
                == Checksum.sha256(Array("done\n".utf8)))
        #expect(await status() == "completed")
    }

    /// The verified record (files' SHA-256, the check's output) was only in the task_completed
    /// event, so event retention took it: it is kept with the task, shown by get-status and
    /// held in checkpoints' snapshots.
    @Test func theVerifiedEvidenceIsKeptWithTheTask() async throws {
        let lease = await start(#"{"files": ["out.txt"], "check_command": "cat out.txt"}"#)
        try "done\n".write(toFile: t.directory.file("out.txt"), atomically: true, encoding: .utf8)
        let done = await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}")
        #expect(done.succeeded, "\(done.json)")
        let verified = try #require(done.result["evidence"])
        #expect(verified["files"]?.arrayValue?.first?["sha256"]?.stringValue == Checksum.sha256(Array("done\n".utf8)))
        let checkpoint = await t.run("w1", "checkpoint", #"{"name": "after"}"#)
        #expect(checkpoint.succeeded, "\(checkpoint.json)")
        // Past the retention period, with a newer event so the old ones are not the newest.
        t.clock.advance(by: .days(8))
        await t.run("w1", "publish-event", #"{"event_type": "note"}"#)
        await t.run(nil, "configure-persistence", #"{"enforce_now": true}"#)
        let completions = await t.run("w1", "get-events", #"{"event_types": ["task_completed"]}"#)
        #expect(completions.result["events"]?.arrayValue?.isEmpty == true)
        let task = await t.run("w1", "get-status").result["workflow_state"]?["phases"]?.arrayValue?.first?["tasks"]?
            .arrayValue?.first
        #expect(task?["verified_evidence"] == verified)
        let stored = try await t.hub.store.read { tx in try tx.checkpoints(of: "w1", limit: 10) }
        let after = try #require(stored.first { $0.name == "after" })
        let snapshot = try after.parsedDocument().state
        // Stored canonically, so compared canonically.
        #expect(snapshot.tasks.first?.verifiedEvidence?.serialized(.canonical) == verified.serialized(.canonical))
    }

    /// Found by session 18's probe: evidence beyond the requirement, or for a task with none,
    /// was dropped unchecked, so a wrong checksum, a path outside the workspace or a made-up
    /// commit completed the task. It is checked like required evidence, and recorded.
    static let badEvidence = [
        (#"{"files": {"ok.flag": "1111111111111111111111111111111111111111111111111111111111111111"}}"#, "SHA-256"),
        (#"{"files": {"/etc/passwd": "00"}}"#, "outside the workspace"),
        (#"{"files": {"nowhere.txt": "00"}}"#, "does not exist"),
        (#"{"commit": "nonsense"}"#, "is not a commit id"),
    ]

    @Test(arguments: badEvidence, [#"{"files": ["ok.flag"]}"#, "null"])
    func suppliedEvidenceIsCheckedEvenWhenNotRequired(_ evidence: (String, String), _ requirement: String)
        async throws
    {
        try "ok\n".write(toFile: t.directory.file("ok.flag"), atomically: true, encoding: .utf8)
        let lease = await start(requirement)
        let refused = await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\", \"evidence\": \(evidence.0)}")
        #expect(refused.errorCode == "EVIDENCE_REJECTED", "\(refused.json)")
        #expect(refused.error?.message.contains(evidence.1) == true, "\(refused.json)")
        #expect(await status() == "running")
    }

    @Test func suppliedEvidenceOfATaskWithoutRequirementIsRecorded() async throws {
        try "ok\n".write(toFile: t.directory.file("ok.flag"), atomically: true, encoding: .utf8)
        let lease = await start("null")
        let sum = Checksum.sha256(Array("ok\n".utf8))
        let done = await t.run(
            nil, "complete-task", "{\"lease_id\": \"\(lease)\", \"evidence\": {\"files\": {\"ok.flag\": \"\(sum)\"}}}")
        #expect(done.succeeded, "\(done.json)")
        #expect(done.result["evidence"]?["files"]?.arrayValue?.first?["sha256"] == .string(sum))
        #expect(await status() == "completed")
    }

    /// Evidence files were read with FileManager, which follows links: a link in the
    /// workspace answered the digest and size of any file the hub could read.
    @Test func evidenceIsNeverReadThroughALink() async throws {
        let outside = try TemporaryDirectory("evidence-outside")
        defer { outside.remove() }
        try "secret\n".write(toFile: outside.file("secret.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(
            atPath: t.directory.file("link.txt"), withDestinationPath: outside.file("secret.txt"))
        try FileManager.default.createSymbolicLink(atPath: t.directory.file("sub"), withDestinationPath: outside.path)
        let lease = await start(#"{"files": ["link.txt"]}"#)
        let viaFile = await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}")
        #expect(viaFile.errorCode == "EVIDENCE_REJECTED")
        #expect(viaFile.error?.message.contains("symbolic link") == true, "\(viaFile.json)")
        #expect(
            !String(decoding: viaFile.json.serializedBytes(.compact), as: UTF8.self).contains(
                Checksum.sha256(Array("secret\n".utf8))))
        #expect(await status() == "running")
        await t.run("w1", "add-tasks", #"{"tasks": [{"task_id": "b", "evidence": {"files": ["sub/secret.txt"]}}]}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "ag2"}"#)
        let second = await t.run(nil, "claim-task", #"{"agent_id": "ag2"}"#).result["tasks"]?.arrayValue?.first
        let viaFolder = await t.run(
            nil, "complete-task", "{\"lease_id\": \"\(second?["lease_id"]?.stringValue ?? "")\"}")
        #expect(viaFolder.errorCode == "EVIDENCE_REJECTED", "\(viaFolder.json)")
    }

    /// Files are hashed a chunk at a time: one of several chunks gets the whole file's digest.
    @Test func aLargeEvidenceFileGetsItsWholeDigest() async throws {
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try Data(bytes).write(to: URL(fileURLWithPath: t.directory.file("big.bin")))
        let lease = await start(#"{"files": ["big.bin"]}"#)
        let done = await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}")
        let file = done.result["evidence"]?["files"]?.arrayValue?.first
        #expect(file?["sha256"]?.stringValue == Checksum.sha256(bytes))
        #expect(file?["size"] == 200_000)
    }

    @Test func aRequiredCommitMustBeSuppliedAndExist() async throws {
        let lease = await start(#"{"commit": true}"#)
        #expect(await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}").errorCode == "EVIDENCE_MISSING")
        let unknown = await t.run(
            nil, "complete-task", "{\"lease_id\": \"\(lease)\", \"evidence\": {\"commit\": \"deadbeef\"}}")
        #expect(unknown.errorCode == "EVIDENCE_REJECTED")
        #expect(await status() == "running")
    }

    /// A workspace git refuses (not a repository; one owned by another user) was reported as
    /// an unknown commit, hiding why: git's own reason is given, and an unknown commit says so.
    @Test func aCommitCheckGivesGitsReason() async throws {
        let path = t.directory.file("ws")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        await t.run(
            "w1", "create",
            "{\"workspace\": \"\(path)\", \"phases\": [{\"name\": \"p\", \"tasks\": [{\"task_id\": \"a\", \"evidence\": {\"commit\": true}}]}]}"
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let lease = try #require(await t.claim("ag").first?["lease_id"]?.stringValue)
        let complete = "{\"lease_id\": \"\(lease)\", \"evidence\": {\"commit\": \"deadbeef\"}}"
        let outside = await t.run(nil, "complete-task", complete)
        #expect(outside.errorCode == "EVIDENCE_REJECTED")
        let message = outside.error?.message ?? ""
        #expect(message.contains("is not a git repository git will use"), "\(message)")
        #expect(message.contains("fatal: not a git repository"), "\(message)")
        #expect(!message.contains("does not exist"), "\(message)")
        try HeadBeforeTests.shell(HeadBeforeTests.repository, in: path)
        let unknown = await t.run(nil, "complete-task", complete)
        #expect(unknown.errorCode == "EVIDENCE_REJECTED")
        #expect(unknown.error?.message.contains("does not exist in the repository") == true, "\(unknown.json)")
        #expect(unknown.error?.context?["git_output"]?.stringValue?.isEmpty == false, "\(unknown.json)")
        #expect(await status() == "running")
    }

    /// Required evidence files refused `./out.txt`, `a/../out.txt` and absolute paths inside the
    /// workspace, which task files accept, while supplied evidence took them: all three follow
    /// one rule, and a file named two ways is one file, recorded by its path in the workspace.
    @Test(arguments: ["./out.txt", "sub/../out.txt", "/"])
    func evidenceFilesAreNamedAsTaskFilesAre(_ form: String) async throws {
        try "done\n".write(toFile: t.directory.file("out.txt"), atomically: true, encoding: .utf8)
        let required = form == "/" ? t.directory.file("out.txt") : form
        let lease = await start("{\"files\": [\"\(required)\"]}")
        #expect(!lease.isEmpty, "the requirement \(required) was refused")
        // Supplied as the workspace's parent folder and back in: the same file.
        let workspace = URL(fileURLWithPath: t.directory.path).standardizedFileURL
        let roundabout = "../\(workspace.lastPathComponent)/out.txt"
        let sum = Checksum.sha256(Array("done\n".utf8))
        let done = await t.run(
            nil, "complete-task",
            "{\"lease_id\": \"\(lease)\", \"evidence\": {\"files\": {\"\(roundabout)\": \"\(sum)\", \"out.txt\": \"\(sum)\"}}}"
        )
        #expect(done.succeeded, "\(done.json)")
        let files = done.result["evidence"]?["files"]?.arrayValue ?? []
        #expect(files.map { $0["path"] } == ["out.txt"], "\(files)")
        #expect(files.first?["sha256"] == .string(sum))
    }

    @Test func aWrongChecksumForARequiredFileNamedAnotherWayIsRejected() async throws {
        try "done\n".write(toFile: t.directory.file("out.txt"), atomically: true, encoding: .utf8)
        let lease = await start(#"{"files": ["out.txt"]}"#)
        let wrong = await t.run(
            nil, "complete-task", "{\"lease_id\": \"\(lease)\", \"evidence\": {\"files\": {\"./out.txt\": \"00\"}}}")
        #expect(wrong.errorCode == "EVIDENCE_REJECTED", "\(wrong.json)")
    }

    /// Completion reads evidence files inside the workspace only, so a task asking for one
    /// outside it could never complete: it is refused when it is declared.
    @Test func evidenceOutsideTheWorkspaceIsRefusedWhenDeclared() async throws {
        for path in ["../../etc/passwd", "/etc/passwd", "a/../../b"] {
            let created = await t.run(
                "w1", "create",
                "{\"phases\": [{\"name\": \"p\", \"tasks\": [{\"task_id\": \"a\", \"evidence\": {\"files\": [\"\(path)\"]}}]}]}"
            )
            #expect(created.errorCode == "INVALID_PARAMETERS", "\(path)")
        }
        #expect(await t.run("w1", "get-status").errorCode == "WORKFLOW_NOT_FOUND")
    }
}

/// A check command that never ended held complete-task (and restore's dependency check)
/// forever; killing the command line left it running. It is stopped at `check_timeout`.
@Suite struct CheckTimeoutTests {
    let t: TestHub
    init() throws {
        var configuration = Configuration()
        configuration.checkTimeout = .seconds(1)
        t = try TestHub(configuration: configuration)
    }

    @Test func aCheckCommandThatDoesNotEndIsStoppedAndRejected() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "a", "evidence": {"check_command": "exec sleep 600"}}]}]}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let lease = try #require(
            await t.run(nil, "claim-task", #"{"agent_id": "ag"}"#).result["tasks"]?.arrayValue?.first?["lease_id"]?
                .stringValue)
        let refused = await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}")
        #expect(refused.errorCode == "EVIDENCE_REJECTED", "\(refused.json)")
        #expect(refused.error?.message.contains("did not finish within 1s") == true, "\(refused.json)")
    }

    @Test func aDependencyCheckThatDoesNotEndRefusesTheRestore() async throws {
        await t.run(
            "w1", "create", #"{"phases": ["a"], "dependencies": [{"name": "db", "check_command": "exec sleep 600"}]}"#)
        await t.run("w1", "start")
        await t.run("w1", "checkpoint", #"{"name": "k"}"#)
        let refused = await t.run("w1", "restore", #"{"name": "k", "verify_dependencies": true}"#)
        #expect(refused.errorCode == "DEPENDENCY_UNAVAILABLE", "\(refused.json)")
        #expect(refused.error?.context?["dependencies"]?.arrayValue?.first?["timed_out"] == true)
    }
}

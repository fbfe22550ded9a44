import Foundation
import HubCore
import HubTesting
import Testing

/// PATH_NOT_ALLOWED, CHECKPOINT_CORRUPT and CHECKPOINT_NOT_FOUND through the executable:
/// user-given paths stay inside the allowed roots, and a damaged bundle is refused whole.
@Suite struct PathAndBundleErrorTests {
    /// A sandbox holding a started workflow `wf` with one task.
    static func sandbox(_ label: String) throws -> CLISandbox {
        let hub = try CLISandbox(label)
        try hub.succeed("wf", "create", #"{"name": "Bundled", "description": "tamper-me-0", "phases": ["one"]}"#)
        try hub.succeed("wf", "start")
        try hub.succeed("wf", "add-tasks", #"{"tasks": [{"task_id": "keep"}]}"#)
        return hub
    }

    /// Saves a bundle of `wf` and returns its path.
    static func bundle(_ hub: CLISandbox, compress: Bool) throws -> String {
        let saved = try hub.succeed(
            "wf", "save-state", #"{"compress": \#(compress), "backup_location": "backups/"}"#)
        return try #require(saved["bundle"]?["path"]?.stringValue)
    }

    static func contents(_ directory: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    }

    @Test func aBackupLocationOutsideTheStateDirectoryIsPathNotAllowed() throws {
        let hub = try Self.sandbox("path-outside")
        defer { hub.remove() }
        let outside = try TemporaryDirectory("outside")
        defer { outside.remove() }
        try hub.expectUnchanged {
            for location in [outside.path + "/", outside.file("bundle.gz"), "../escape/", "backups/../../x.gz"] {
                let error = try hub.fail(
                    ["wf", "save-state", #"{"backup_location": "\#(location)"}"#], code: "PATH_NOT_ALLOWED", exit: 1)
                #expect(error["context"]?["field"]?.stringValue == "backup_location")
            }
        }
        #expect(Self.contents(outside.path).isEmpty, "nothing is written outside")
        #expect(!hub.exists(hub.directory.file(".claude/escape")))
    }

    @Test func aSymlinkInsideTheStateDirectoryPointingOutsideIsPathNotAllowed() throws {
        let hub = try Self.sandbox("path-symlink")
        defer { hub.remove() }
        let outside = try TemporaryDirectory("outside-link")
        defer { outside.remove() }
        try FileManager.default.createSymbolicLink(atPath: hub.state("link"), withDestinationPath: outside.path)
        // A real bundle placed behind the link: loading it through the link is refused too.
        let real = try Self.bundle(hub, compress: true)
        try FileManager.default.copyItem(atPath: real, toPath: outside.file("copy.hubbundle.gz"))
        try hub.expectUnchanged {
            for location in ["link/", "link/bundle.gz", hub.state("link/nested/")] {
                try hub.fail(
                    ["wf", "save-state", #"{"backup_location": "\#(location)"}"#], code: "PATH_NOT_ALLOWED", exit: 1)
            }
            try hub.fail(
                ["wf", "load-state", #"{"bundle": "link/copy.hubbundle.gz"}"#], code: "PATH_NOT_ALLOWED", exit: 1)
        }
        #expect(Self.contents(outside.path) == ["copy.hubbundle.gz"], "nothing new appears behind the link")
    }

    /// Found by a probe: a relative link was resolved against the process's working directory,
    /// not the link's folder. `evil -> ../victim` in the state directory points outside it, but
    /// run from <state>/d it was taken for <state>/victim, inside, and the bundle was written there.
    @Test func aRelativeSymlinkIsResolvedFromItsOwnFolderWhateverTheWorkingDirectory() throws {
        let hub = try Self.sandbox("path-relative-link")
        defer { hub.remove() }
        let fm = FileManager.default
        for folder in [hub.state("d"), hub.state("victim"), hub.directory.file(".claude/victim")] {
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        try fm.createSymbolicLink(atPath: hub.state("evil"), withDestinationPath: "../victim")
        let elsewhere = ExecutableRunner(
            workingDirectory: hub.state("d"), environment: ["COORDINATION_HUB_STATE_DIR": hub.stateDirectory])
        try hub.expectUnchanged {
            for runner in [hub.runner, elsewhere] {
                let outcome = try runner.run(["wf", "save-state", #"{"backup_location": "evil/b.gz"}"#])
                #expect(outcome.errorCode == "PATH_NOT_ALLOWED", "from \(runner.workingDirectory): \(outcome.stdout)")
                let resolved = outcome.json["error"]?["context"]?["resolved"]?.stringValue ?? ""
                #expect(resolved.hasSuffix("/.claude/victim/b.gz"), "from \(runner.workingDirectory): \(resolved)")
            }
        }
        #expect(Self.contents(hub.state("victim")).isEmpty)
        #expect(Self.contents(hub.directory.file(".claude/victim")).isEmpty)
    }

    /// A link whose target does not exist is not followed either: it was taken for a plain
    /// name inside the state directory, and the write failed as STORE_UNAVAILABLE (503).
    @Test func aDanglingSymlinkIsPathNotAllowed() throws {
        let hub = try Self.sandbox("path-dangling")
        defer { hub.remove() }
        let outside = try TemporaryDirectory("outside-dangling")
        defer { outside.remove() }
        try FileManager.default.createSymbolicLink(
            atPath: hub.state("evil"), withDestinationPath: outside.file("pwned"))
        try FileManager.default.createSymbolicLink(atPath: hub.state("gone"), withDestinationPath: outside.file("dir"))
        try hub.expectUnchanged {
            for location in ["evil", "gone/bundle.gz"] {
                try hub.fail(
                    ["wf", "save-state", #"{"backup_location": "\#(location)"}"#], code: "PATH_NOT_ALLOWED", exit: 1)
            }
        }
        #expect(Self.contents(outside.path).isEmpty, "nothing appears where the links point")
    }

    @Test func anAllowedBackupRootAcceptsALocationOutsideTheStateDirectory() throws {
        let hub = try Self.sandbox("path-allowed")
        defer { hub.remove() }
        let outside = try TemporaryDirectory("allowed-root")
        defer { outside.remove() }
        let saved = try hub.succeed(
            "--set", "allowed_backup_roots=\(outside.path)", "wf", "save-state",
            #"{"backup_location": "\#(outside.path)/"}"#)
        let path = try #require(saved["bundle"]?["path"]?.stringValue)
        #expect(path.hasPrefix(outside.path + "/"))
        #expect(hub.exists(path))
    }

    @Test func aFileNameLongerThanTheFileSystemAllowsIsInvalidParametersNotAStoreFailure() throws {
        let hub = try Self.sandbox("path-long-name")
        defer { hub.remove() }
        let long = String(repeating: "a", count: 300)
        try hub.expectUnchanged {
            for arguments in [
                ["wf", "save-state", #"{"backup_location": "backups/\#(long).gz"}"#],
                ["wf", "load-state", #"{"bundle": "\#(long)/b.gz"}"#],
            ] {
                let error = try hub.fail(arguments, code: "INVALID_PARAMETERS", exit: 1)
                #expect(error["message"]?.stringValue?.contains("255 bytes") == true)
            }
        }
    }

    @Test func aTruncatedBundleIsCheckpointCorruptAndLoadsNothing() throws {
        let hub = try Self.sandbox("corrupt-truncated")
        defer { hub.remove() }
        for compress in [true, false] {
            let path = try Self.bundle(hub, compress: compress)
            let bytes = try #require(FileManager.default.contents(atPath: path))
            try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
            try hub.expectUnchanged {
                let error = try hub.fail(
                    ["wf", "load-state", #"{"bundle": "\#(path)"}"#], code: "CHECKPOINT_CORRUPT", exit: 1)
                #expect(error["context"]?["newest_valid_checkpoint"] == .null)
                #expect(error["message"]?.stringValue?.contains(path) == true)
            }
        }
    }

    @Test func aBundleWithOneTamperedByteIsCheckpointCorrupt() throws {
        let hub = try Self.sandbox("corrupt-tampered")
        defer { hub.remove() }
        let path = try Self.bundle(hub, compress: false)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.components(separatedBy: "tamper-me-0").count == 2, "the marker appears once")
        // Still valid JSON, one byte different: only the checksum can tell.
        let tampered = text.replacingOccurrences(of: "tamper-me-0", with: "tamper-me-1")
        #expect((try? JSONParser.parse(tampered)) != nil)
        try Data(tampered.utf8).write(to: URL(fileURLWithPath: path))
        try hub.succeed("wf", "add-tasks", #"{"tasks": [{"task_id": "after"}]}"#)
        try hub.expectUnchanged {
            let error = try hub.fail(
                ["wf", "load-state", #"{"bundle": "\#(path)", "verify_integrity": true}"#], code: "CHECKPOINT_CORRUPT",
                exit: 1)
            #expect(error["message"]?.stringValue?.contains("checksum") == true, "\(error)")
        }
        #expect(try hub.workflowState("wf")["description"]?.stringValue == "tamper-me-0")
    }

    @Test func somethingThatIsNotABundleIsCheckpointCorrupt() throws {
        let hub = try Self.sandbox("corrupt-foreign")
        defer { hub.remove() }
        try hub.write(#"{"format": "something-else"}"#, to: hub.state("backups/foreign.json"))
        try hub.write("not json at all", to: hub.state("backups/garbage.bin"))
        try hub.expectUnchanged {
            for name in ["foreign.json", "garbage.bin"] {
                try hub.fail(
                    ["wf", "load-state", #"{"bundle": "backups/\#(name)"}"#], code: "CHECKPOINT_CORRUPT", exit: 1)
            }
        }
    }

    @Test func aMissingCheckpointOrBundleIsCheckpointNotFound() throws {
        let hub = try Self.sandbox("not-found-checkpoint")
        defer { hub.remove() }
        try hub.expectUnchanged {
            try hub.fail(
                ["wf", "load-state", #"{"checkpoint_id": "chkpt_456"}"#], code: "CHECKPOINT_NOT_FOUND", exit: 1)
            try hub.fail(
                ["wf", "load-state", #"{"bundle": "backups/none.hubbundle.gz"}"#], code: "CHECKPOINT_NOT_FOUND",
                exit: 1)
        }
    }

    @Test func aBundleOfAnotherWorkflowIsRefusedUnderTheWrongID() throws {
        let hub = try Self.sandbox("bundle-other")
        defer { hub.remove() }
        let path = try Self.bundle(hub, compress: true)
        try hub.succeed("other", "create", #"{"phases": ["x"]}"#)
        try hub.expectUnchanged {
            let error = try hub.fail(
                ["other", "load-state", #"{"bundle": "\#(path)"}"#], code: "INVALID_PARAMETERS", exit: 1)
            #expect(error["context"]?["field"]?.stringValue == "bundle")
        }
    }
}

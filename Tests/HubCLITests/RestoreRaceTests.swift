import Foundation
import HubCore
import HubTesting
import Testing

/// Restores of one workflow run by many `coordination-hub` processes at once (§11: the files
/// "exactly as at the checkpoint"): they committed their states in one order and put their
/// files in place in another, so the workspace was left mixed from several checkpoints, or
/// another checkpoint's than the state's, with every answer a success.
@Suite struct RestoreRaceTests {
    static let letters = ["A", "B", "C", "D"]
    static let fileCount = 30
    static let processes = 10

    /// The answers of the restores that failed, from the threads that ran them.
    final class Failures: @unchecked Sendable {
        private let lock = NSLock()
        private var outputs: [String] = []
        func add(_ output: String) { lock.withLock { outputs.append(output) } }
        var all: [String] { lock.withLock { outputs } }
    }

    func write(_ hub: CLISandbox, _ letter: String) throws {
        for i in 0..<Self.fileCount { try hub.write(letter, to: hub.directory.file("src/f\(i).txt")) }
    }

    /// Each letter once: what the workspace's files hold.
    func contents(_ hub: CLISandbox) -> Set<String> {
        Set(
            (0..<Self.fileCount).map {
                (try? String(contentsOfFile: hub.directory.file("src/f\($0).txt"), encoding: .utf8)) ?? "missing"
            })
    }

    @Test func processesRestoringOneWorkflowAtOnceLeaveTheFilesOfTheLastCommittedRestore() throws {
        let hub = try CLISandbox("restore-race")
        defer { hub.remove() }
        try hub.succeed("w", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "t1"}]}]}"#)
        for letter in Self.letters {
            try write(hub, letter)
            try hub.succeed("w", "checkpoint", "{\"name\": \"c\(letter)\", \"include_files\": [\"src/*\"]}")
        }
        try write(hub, "E")
        for round in 0..<2 {
            let failures = Failures()
            DispatchQueue.concurrentPerform(iterations: Self.processes) { k in
                let letter = Self.letters[(k * 3 + round) % Self.letters.count]
                let outcome = try? hub.runner.run(["w", "restore", "{\"name\": \"c\(letter)\"}"])
                if outcome?.status != 0 { failures.add(outcome?.stdout ?? "did not run") }
            }
            #expect(failures.all.isEmpty, "\(failures.all)")
            let events = try hub.succeed(
                "w", "get-events", #"{"event_types": ["state_restored"], "order": "desc", "limit": 1}"#)
            let newest = try #require(events["events"]?.arrayValue?.first?["data"]?["name"]?.stringValue)
            #expect(contents(hub) == [String(newest.dropFirst())], "round \(round): \(contents(hub)) after \(newest)")
        }
        let journals = (try? FileManager.default.contentsOfDirectory(atPath: hub.state("journal"))) ?? []
        #expect(journals.isEmpty, "\(journals)")
    }
}

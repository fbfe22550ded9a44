import Foundation
import HubCore
import HubTesting
import Testing

@testable import HubEngine

/// Restores of one workflow's files take turns, across threads and processes, from their plan
/// until the files are in place (§11: the files "exactly as at the checkpoint").
@Suite struct RestoreTurnTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    static let letters = ["A", "B", "C", "D"]
    static let fileCount = 20

    var journals: [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: t.directory.file("state/journal"))) ?? []
    }

    /// w1 with checkpoints cA…cD of `src/`, file i of cX holding X; the files then hold "E".
    func checkpoints() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "t1"}]}]}"#)
        for letter in Self.letters + ["E"] {
            for i in 0..<Self.fileCount { try t.writeFile("src/f\(i).txt", letter) }
            if letter == "E" { break }
            let taken = await t.run("w1", "checkpoint", "{\"name\": \"c\(letter)\", \"include_files\": [\"src/*\"]}")
            #expect(taken.succeeded, "\(taken.json)")
        }
    }

    /// What the workspace's files hold, each letter once.
    var contents: Set<String> { Set((0..<Self.fileCount).map { t.readFile("src/f\($0).txt") ?? "missing" }) }

    /// The checkpoint name of the workflow's newest `state_restored`.
    func newestRestored() async -> String? {
        let events = await t.run(
            "w1", "get-events", #"{"event_types": ["state_restored"], "order": "desc", "limit": 1}"#)
        return events.result["events"]?.arrayValue?.first?["data"]?["name"]?.stringValue
    }

    /// A restore waits while another holds the workflow's turn: nothing of it happens before.
    @Test func aRestoreWaitsForItsWorkflowsTurn() async throws {
        try await checkpoints()
        let version = await t.run("w1", "get-status").result["workflow_state"]?["state_version"]
        var turn: LockedFile? = try await RestoreTurn.take(workflowID: "w1", stateDirectory: t.hub.stateDirectory)
        enum First { case waited, answered }
        let (firsts, outcome) = AsyncStream<First>.makeStream()
        let restore = Task {
            let answer = await RestoreTurn.$waiting.withValue({ outcome.yield(.waited) }) {
                await t.run("w1", "restore", #"{"name": "cB"}"#)
            }
            outcome.yield(.answered)
            return answer
        }
        var seen = firsts.makeAsyncIterator()
        let first = await seen.next()
        #expect(first == .waited, "the restore went on while another had the workflow's turn")
        #expect(contents == ["E"])
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["state_version"] == version)

        turn = nil  // the other restore ends (or its process dies)
        withExtendedLifetime(turn) {}
        let answer = await restore.value
        #expect(answer.succeeded, "\(answer.json)")
        #expect(contents == ["B"])
    }

    /// A killed restore's journal is not finished while a restore of its workflow has the turn:
    /// finished beside the new one, it put the older checkpoint's files over the newer's. The
    /// new restore replaces it; with the turn free, the next operation finishes it.
    @Test func aPassOverJournalsLeavesAWorkflowWhoseTurnIsTaken() async throws {
        try await checkpoints()
        let stopped = await Restore.$interruption.withValue(.afterStateCommit) {
            await t.run("w1", "restore", #"{"name": "cA"}"#)
        }
        #expect(stopped.errorCode == "INTERNAL")
        #expect(journals.count == 1)
        do {
            let turn = try await RestoreTurn.take(workflowID: "w1", stateDirectory: t.hub.stateDirectory)
            #expect(await t.run("w1", "get-status").succeeded)
            #expect(contents == ["E"], "finished while a restore had the workflow's turn")
            #expect(journals.count == 1)
            withExtendedLifetime(turn) {}
        }
        #expect(await t.run("w1", "get-status").succeeded)
        #expect(contents == ["A"])
        #expect(journals.isEmpty)
    }

    /// Many restores of one workflow at once in one hub (a server's clients): the files are
    /// the checkpoint of the restore that committed last, none mixed.
    @Test func concurrentRestoresLeaveTheFilesOfTheLastCommittedOne() async throws {
        try await checkpoints()
        for round in 0..<3 {
            let answers = await withTaskGroup(of: OperationResponse.self) { group in
                for k in 0..<8 {
                    let letter = Self.letters[(k * 3 + round) % Self.letters.count]
                    group.addTask { await t.run("w1", "restore", "{\"name\": \"c\(letter)\"}") }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let failed = answers.filter { !$0.succeeded }.map(\.json)
            #expect(failed.isEmpty, "\(failed)")
            let newest = try #require(await newestRestored())
            #expect(contents == [String(newest.dropFirst())], "round \(round): \(contents) after \(newest)")
            #expect(journals.isEmpty)
        }
    }
}

import Foundation
import HubCore
import HubTesting
import Testing

@testable import HubEngine

/// What waits for a workflow's restore turn reads within it: a restore, the workspace and the
/// checkpoint it plans from; a checkpoint, the files it captures (§11).
extension RestoreTurnTests {
    enum First { case waited, answered }

    /// Starts `operation` while the test holds w1's turn and answers once it waits for the turn
    /// (`first` is `.answered` when it went on without it), with the task to await after the turn is let go.
    func whileTurnHeld(_ operation: @escaping @Sendable () async -> OperationResponse) async
        -> (first: First?, answer: Task<OperationResponse, Never>)
    {
        let (firsts, outcome) = AsyncStream<First>.makeStream()
        let answer = Task {
            let answer = await RestoreTurn.$waiting.withValue({ outcome.yield(.waited) }) { await operation() }
            outcome.yield(.answered)
            return answer
        }
        var seen = firsts.makeAsyncIterator()
        return (await seen.next(), answer)
    }

    /// The letters the files of `folder` hold, each once.
    func contents(of folder: String) -> Set<String> {
        Set((0..<Self.fileCount).map { t.readFile("\(folder)/f\($0).txt") ?? "missing" })
    }

    /// A restore that waited for its turn wrote into the workspace the workflow had before it
    /// waited: a load-state meanwhile moved the workflow to ws2, which stayed empty.
    @Test func aRestoreThatWaitedWritesIntoTheWorkspaceTheWorkflowHasThen() async throws {
        try await checkpoints()
        let saved = await t.run(
            "w1", "save-state", #"{"backup_location": "w1.json", "include_checkpoints": true, "compress": false}"#)
        #expect(saved.succeeded, "\(saved.json)")
        try FileManager.default.createDirectory(atPath: t.directory.file("ws2"), withIntermediateDirectories: true)
        var turn: LockedFile? = try await RestoreTurn.take(workflowID: "w1", stateDirectory: t.hub.stateDirectory)
        let (first, restore) = await whileTurnHeld { [t] in await t.run("w1", "restore", #"{"name": "cB"}"#) }
        #expect(first == .waited)
        let loaded = await t.run("w1", "load-state", #"{"bundle": "w1.json", "workspace": "ws2"}"#)
        #expect(loaded.succeeded, "\(loaded.json)")

        turn = nil
        withExtendedLifetime(turn) {}
        let answer = await restore.value
        #expect(answer.succeeded, "\(answer.json)")
        #expect(contents(of: "ws2/src") == ["B"])
        #expect(contents == ["E"], "the workspace the workflow left was written")
    }

    /// A checkpoint that captures files waits for the turn and reads them after it: taken while a
    /// restore put files in place, it held a mix of two checkpoints' files and passed for valid.
    @Test func aCheckpointWithFilesReadsThemInTheWorkflowsTurn() async throws {
        try await checkpoints()
        var turn: LockedFile? = try await RestoreTurn.take(workflowID: "w1", stateDirectory: t.hub.stateDirectory)
        let (first, capture) = await whileTurnHeld { [t] in
            await t.run("w1", "checkpoint", #"{"name": "during", "include_files": ["src/*"]}"#)
        }
        #expect(first == .waited, "the checkpoint read the files while another had the workflow's turn")
        // What the holder of the turn (a restore) puts in place before it lets go.
        for i in 0..<Self.fileCount { try t.writeFile("src/f\(i).txt", "F") }

        turn = nil
        withExtendedLifetime(turn) {}
        let taken = await capture.value
        #expect(taken.succeeded, "\(taken.json)")
        #expect(await t.run("w1", "restore", #"{"name": "cA"}"#).succeeded)
        #expect(await t.run("w1", "restore", #"{"name": "during"}"#).succeeded)
        #expect(contents == ["F"])
    }

    /// A risky task's automatic checkpoint captures its files in the turn too; the claim only
    /// tries it (it holds a transaction), so the task waits for a later claim.
    @Test func aRiskyTaskIsNotHandedOutWhileItsWorkflowsFilesAreRestored() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "r", "risky": true, "files": ["src"]}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        for i in 0..<Self.fileCount { try t.writeFile("src/f\(i).txt", "A") }
        do {
            let turn = try await RestoreTurn.take(workflowID: "w1", stateDirectory: t.hub.stateDirectory)
            #expect(await t.claim("ag").isEmpty, "handed out with its files read during a restore")
            withExtendedLifetime(turn) {}
        }
        #expect(await t.claim("ag").first?["task_id"] == "r")
        let listed = await t.run("w1", "list-checkpoints").result["checkpoints"]?.arrayValue ?? []
        #expect(listed.map { $0["name"] } == ["before_r"])
        #expect(listed.first?["file_count"] == .count(Self.fileCount))
    }

    /// Checkpoints taken while restores of the workflow run hold one checkpoint's files each.
    @Test func checkpointsTakenWhileRestoresRunHoldOneCheckpointsFiles() async throws {
        try await checkpoints()
        for round in 0..<2 {
            let answers = await withTaskGroup(of: OperationResponse.self) { group in
                for k in 0..<8 {
                    let letter = Self.letters[(k + round) % 2]
                    group.addTask { [t] in await t.run("w1", "restore", "{\"name\": \"c\(letter)\"}") }
                }
                for k in 0..<3 {
                    group.addTask { [t] in
                        await t.run("w1", "checkpoint", "{\"name\": \"m\(round)\(k)\", \"include_files\": [\"src/*\"]}")
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let failed = answers.filter { !$0.succeeded }.map(\.json)
            #expect(failed.isEmpty, "\(failed)")
        }
        for round in 0..<2 {
            for k in 0..<3 {
                let restored = await t.run("w1", "restore", "{\"name\": \"m\(round)\(k)\"}")
                #expect(restored.succeeded, "\(restored.json)")
                #expect(contents.count == 1, "m\(round)\(k) holds \(contents)")
            }
        }
    }
}

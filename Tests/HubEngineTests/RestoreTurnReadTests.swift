import Foundation
import HubCore
import HubTesting
import Testing

@testable import HubEngine

/// What waits for a workflow's restore turn reads within it: a restore, the workspace and the
/// checkpoint it plans from (§11).
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
}

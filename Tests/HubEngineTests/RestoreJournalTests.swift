import Foundation
import HubCore
import HubTesting
import Testing

@testable import HubEngine

/// The journal of a restore's files is never left in a state that names less than the files
/// staged so far, wherever its process is killed (§11).
@Suite struct RestoreJournalTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    let fm = FileManager.default

    var journals: [String] {
        (try? fm.contentsOfDirectory(atPath: t.directory.file("state/journal"))) ?? []
    }

    /// Temporary files of restores anywhere in the workspace.
    var leftovers: [String] {
        (fm.enumerator(atPath: t.directory.path)?.allObjects as? [String] ?? []).filter {
            ($0 as NSString).lastPathComponent.hasPrefix(WorkspaceRestore.temporaryPrefix)
        }
    }

    /// A journal naming two staged files under `src/`, prepared (locked), with the files
    /// written as the staging writes them.
    func prepared() throws -> (RestoreJournal, RestoreJournal.Held) {
        var staged = WorkspaceRestore.Staged()
        staged.renames = [
            ("src", WorkspaceRestore.temporaryPrefix + "0000000a.tmp", "a.txt"),
            ("src", WorkspaceRestore.temporaryPrefix + "0000000b.tmp", "b.txt"),
        ]
        let journal = RestoreJournal(
            workflowID: "w1", checkpointID: "chkpt_1", restoreID: "rst_1", afterSequence: 0,
            workspace: t.directory.path, staged: staged, counts: ["written": 2])
        let held = try journal.prepare(stateDirectory: t.hub.stateDirectory)
        for (directory, temporary, _) in staged.renames {
            try t.writeFile(directory + "/" + temporary, String(repeating: "staged ", count: 3000))
        }
        return (journal, held)
    }

    /// Killed while its journal was rewritten as staged: the journal was rewritten in place, so
    /// the kill left it empty; the next operation removed it as unreadable, and the staged files,
    /// which only it named, stayed in the workspace for good.
    @Test func aRestoreKilledWhileSealingItsJournalLeavesNoStagedFileBehind() async throws {
        do {
            let (journal, held) = try prepared()
            #expect(leftovers.count == 2)
            #expect(throws: HubError.self) {
                try RestoreJournal.$killedWhileSealing.withValue(true) { try held.seal(journal) }
            }
            // The held journal goes here, as its lock goes with a killed process.
        }

        #expect(await InterruptedRestores(hub: t.hub).finish())

        #expect(leftovers.isEmpty, "\(leftovers)")
        #expect(journals.isEmpty, "\(journals)")
    }

    /// Sealed, the journal is in place under its own name, whole, and the prepared one is gone.
    @Test func aSealedJournalReplacesThePreparedOneWhole() throws {
        let (journal, held) = try prepared()
        try held.seal(journal)
        #expect(journals == [journal.fileName])
        let bytes = try #require(fm.contents(atPath: t.directory.file("state/journal/" + journal.fileName)))
        let read = RestoreJournal(json: try JSONParser.parse(bytes: Array(bytes)))
        #expect(read?.staged.renames.map(\.temporary) == journal.staged.renames.map(\.temporary))
        // Still locked by its restore: a pass over the journals leaves it alone.
        guard case .success(let folder) = FileSystem.openDirectory(t.directory.file("state/journal")),
            case .busy = FileSystem.lockExisting(journal.fileName, in: folder)
        else {
            Issue.record("the sealed journal is not held by its restore")
            return
        }
        withExtendedLifetime(held) {}
    }
}

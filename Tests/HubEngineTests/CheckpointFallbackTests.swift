import HubCore
import HubEngine
import HubTesting
import Testing

/// §11: where the hub chooses (`latest`, a name) it skips corrupt checkpoints for the newest
/// valid one and says so; a checkpoint named by id is never silently replaced.
@Suite struct CheckpointFallbackTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    /// Takes checkpoints with these names, oldest first, a second apart (so their order does not
    /// rest on insertion, which damaging one changes); answers their ids in the same order.
    func take(_ names: [String]) async throws -> [String] {
        await t.run("w1", "create", #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}]}]}"#)
        await t.run("w1", "start")
        var ids: [String] = []
        for name in names {
            t.clock.advance(by: .seconds(1))
            ids.append(
                try #require(
                    await t.run("w1", "checkpoint", "{\"name\": \"\(name)\"}").result["checkpoint_id"]?.stringValue))
        }
        return ids
    }

    @Test func aCorruptNamedCheckpointFallsBackToTheNewestValidOneBeforeItAndSaysSo() async throws {
        let ids = try await take(["one", "two"])
        try await t.damageCheckpoint(ids[1])
        let restored = await t.run("w1", "restore", #"{"name": "two"}"#)
        #expect(restored.succeeded, "\(restored.json)")
        #expect(restored.result["used_checkpoint"] == .string(ids[0]))
        #expect(restored.result["checkpoint_name"] == "one")
        #expect(restored.result["fallback_used"] == true)
        #expect(restored.result["skipped_corrupt"] == .strings([ids[1]]))
        let said = restored.json["next_steps"]?.arrayValue?.first?.stringValue ?? ""
        #expect(said.contains(ids[1]) && said.contains(ids[0]), "\(said)")
    }

    @Test func aNameNeverFallsForwardToANewerCheckpoint() async throws {
        let ids = try await take(["one", "two", "three"])
        try await t.damageCheckpoint(ids[1])
        let restored = await t.run("w1", "restore", #"{"name": "two"}"#)
        #expect(restored.result["used_checkpoint"] == .string(ids[0]), "\(restored.json)")
        #expect(restored.result["skipped_corrupt"] == .strings([ids[1]]))
    }

    @Test func withoutAutoRecoveryACorruptNameIsRefusedNamingTheNewestValid() async throws {
        let ids = try await take(["one", "two", "three"])
        try await t.damageCheckpoint(ids[1])
        let refused = await t.run("w1", "restore", #"{"name": "two", "auto_recovery": false}"#)
        #expect(refused.errorCode == "CHECKPOINT_CORRUPT")
        #expect(refused.error?.context?["checkpoint_id"] == .string(ids[1]))
        #expect(refused.error?.context?["newest_valid_checkpoint"] == .string(ids[2]))
    }

    @Test func aCorruptNameWithNothingValidBeforeItIsRefused() async throws {
        let ids = try await take(["one", "two"])
        try await t.damageCheckpoint(ids[0])
        let refused = await t.run("w1", "restore", #"{"name": "one"}"#)
        #expect(refused.errorCode == "CHECKPOINT_CORRUPT")
        #expect(refused.error?.context?["newest_valid_checkpoint"] == .string(ids[1]))
    }

    @Test func aCorruptCheckpointNamedByIdIsStillRefused() async throws {
        let ids = try await take(["one", "two"])
        try await t.damageCheckpoint(ids[1])
        let refused = await t.run("w1", "restore", "{\"checkpoint_id\": \"\(ids[1])\"}")
        #expect(refused.errorCode == "CHECKPOINT_CORRUPT")
        #expect(refused.error?.context?["newest_valid_checkpoint"] == .string(ids[0]))
    }
}

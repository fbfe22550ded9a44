import Foundation
import HubCore
import HubEngine
import HubStore
import HubStoreSQLite

/// A hub on a temporary SQLite store with a manual clock, for in-process tests.
public struct TestHub: Sendable {
    public let hub: Hub
    public let clock: ManualClock
    public let directory: TemporaryDirectory
    /// Removes the directory when the last copy of this hub goes (a suite's instance after
    /// its test), so suites that keep a hub in a property leave nothing behind.
    private let cleanup: DirectoryCleanup

    /// `serving`: the hub behaves as `serve`'s does (queued resource requests wait).
    public init(configuration: Configuration = .init(), serving: Bool = false) throws {
        directory = try TemporaryDirectory("engine")
        cleanup = DirectoryCleanup(directory)
        clock = ManualClock()
        let store = try SQLiteStore(path: directory.file("state/hub.sqlite"))
        hub = Hub(
            store: store, stateDirectory: directory.file("state"), configuration: configuration, clock: clock,
            workingDirectory: directory.path, serving: serving)
    }

    /// A hub whose agents heartbeat every `heartbeatInterval` (leases last 3 of them), for
    /// tests that count intervals on the manual clock.
    public static func heartbeatEvery(_ heartbeatInterval: HubDuration) throws -> TestHub {
        var configuration = Configuration()
        configuration.heartbeatInterval = heartbeatInterval
        return try TestHub(configuration: configuration)
    }

    /// Performs an operation given as JSON text (`{}` when omitted).
    @discardableResult
    public func run(_ workflowID: String?, _ operation: String, _ parameters: String = "{}") async -> OperationResponse
    {
        let params = (try? JSONParser.parse(parameters)) ?? .emptyObject
        return await hub.perform(OperationRequest(workflowID: workflowID, operation: operation, parameters: params))
    }

    /// The tasks `claim-task` hands `agent` (none on an error), optionally from one workflow.
    public func claim(_ agent: String, max: Int = 1, workflow: String? = nil) async -> [JSONValue] {
        await run(workflow, "claim-task", "{\"agent_id\": \"\(agent)\", \"max_tasks\": \(max)}").result["tasks"]?
            .arrayValue ?? []
    }

    /// Another hub on the same state, with its own connection to the store: what a second
    /// process sees and does.
    /// `configuration`: that process's own (a `--set` for one call, a server configured otherwise).
    public func otherProcess(configuration: Configuration? = nil) throws -> Hub {
        Hub(
            store: try SQLiteStore(path: directory.file("state/hub.sqlite")), stateDirectory: directory.file("state"),
            configuration: configuration ?? hub.configuration, clock: clock, workingDirectory: directory.path)
    }

    public func remove() { directory.remove() }

    /// Writes `text` to `path` in the workspace (the hub's working directory), making its folders.
    public func writeFile(_ path: String, _ text: String) throws {
        let full = directory.path + "/" + path
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: full))
    }

    /// The text of `path` in the workspace, `nil` when there is no such file.
    public func readFile(_ path: String) -> String? {
        FileManager.default.contents(atPath: directory.path + "/" + path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Flips one bit of a stored checkpoint's document (at `byte`, or its middle), keeping
    /// its files: what damage on disk does, for the tests of corruption and fallback.
    public func damageCheckpoint(_ id: String, byte: Int? = nil, bit: UInt8 = 0x01) async throws {
        try await hub.store.write { tx in
            guard var c = try tx.checkpoint(id: id) else { return }
            let files = try tx.fileStamps(checkpointID: id)
            c.document[byte ?? c.document.count / 2] ^= bit
            try tx.removeCheckpoints([id])
            try tx.insert(c, files: files)
        }
    }
}

extension OperationResponse {
    /// `result` of a successful response.
    public var result: JSONValue { json["result"] ?? .null }
    /// The error code's wire name, or `nil` on success.
    public var errorCode: String? { error?.code.name }
}

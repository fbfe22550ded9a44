import BenchSupport
import Foundation
import GRDB
import HubCore
import HubEngine
import HubStoreSQLite

// Issue 5's checkpoint benchmarks, printed as JSON:
//
//   swift run -c release checkpoint-bench state [tasks] [runs]
//       a state-only checkpoint of a `tasks`-task workflow against get-status of the same
//       workflow in the same run (target: at most 2×), and restoring it (target: at most 3×).
//       Medians of `runs` runs each.
//   swift run -c release checkpoint-bench files [files] [kib]
//       a first capture of `files` files of `kib` KiB, then a second capture of the same,
//       unchanged files (target: the second in at most 10% of the first's time).

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}

/// Moves the store's write-ahead log into the database file (and fsyncs it), so that the
/// next commit does not pay for the pages an earlier one left in the log.
func checkpointWAL(_ directory: ScratchDirectory) throws {
    let path = ((directory.path as NSString).appendingPathComponent("state") as NSString)
        .appendingPathComponent("hub.sqlite")
    let queue = try DatabaseQueue(path: path)
    try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    try queue.close()
}

func makeHub(_ label: String) throws -> (Hub, ScratchDirectory) {
    let directory = try ScratchDirectory(label)
    var configuration = HubCore.Configuration()
    configuration.heartbeatInterval = .hours(1)
    let state = (directory.path as NSString).appendingPathComponent("state")
    let store = try SQLiteStore(path: (state as NSString).appendingPathComponent("hub.sqlite"))
    let hub = Hub(
        store: store, stateDirectory: state, configuration: configuration, workingDirectory: directory.path)
    return (hub, directory)
}

func perform(_ hub: Hub, _ workflow: String?, _ operation: String, _ parameters: JSONValue) async throws -> JSONValue {
    let response = await hub.perform(OperationRequest(workflowID: workflow, operation: operation, parameters: parameters))
    if let error = response.error { throw WorkloadError("\(operation): \(error)") }
    return response.json["result"] ?? .null
}

let arguments = Array(CommandLine.arguments.dropFirst())
let mode = arguments.first ?? "state"
let numbers = arguments.dropFirst().compactMap { Int($0) }
let clock = ContinuousClock()

switch mode {
case "parse":
    // Where restore's time goes: reading a stored snapshot back (parse, then decode).
    let tasks = numbers.first ?? 10_000
    let (hub, directory) = try makeHub("parse")
    let list: [JSONValue] = (0..<tasks).map { ["task_id": .string("t\($0)"), "description": "benchmark task"] }
    _ = try await perform(hub, "bench", "create", ["phases": [["name": "work", "tasks": .array(list)]]])
    let id = try await perform(hub, "bench", "checkpoint", [:])["checkpoint_id"]?.stringValue ?? ""
    let checkpoint = try await hub.store.read { tx in try tx.checkpoint(id: id) }
    try await hub.store.close()
    directory.remove()
    guard let document = checkpoint?.document else { throw WorkloadError("no checkpoint") }
    var parse: [Double] = []
    var decode: [Double] = []
    for _ in 0..<7 {
        var json: JSONValue = .null
        parse.append(seconds(try clock.measure { json = try JSONParser.parse(bytes: document) }))
        decode.append(seconds(try clock.measure { _ = try WorkflowSnapshot(json: json["state"] ?? .null) }))
    }
    print(
        "{\"benchmark\": \"snapshot read-back\", \"tasks\": \(tasks), \"bytes\": \(document.count), "
            + "\"parse_ms\": \(String(format: "%.2f", median(parse) * 1000)), "
            + "\"decode_ms\": \(String(format: "%.2f", median(decode) * 1000))}")
case "files":
    let count = numbers.first ?? 1_000
    let kib = numbers.dropFirst().first ?? 10
    let (hub, directory) = try makeHub("files")
    var generator = SystemRandomNumberGenerator()
    for n in 0..<count {
        var bytes = [UInt8](repeating: 0, count: kib * 1024)
        for i in stride(from: 0, to: bytes.count, by: 8) {
            let word = generator.next()
            for j in 0..<min(8, bytes.count - i) { bytes[i + j] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(j))) }
        }
        let path = (directory.path as NSString).appendingPathComponent("ws/f\(n).bin")
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
    _ = try await perform(hub, "bench", "create", ["phases": ["work"]])
    // Stamps of files written within the last two seconds are not trusted (racily clean), so
    // a real workspace's files, written well before, are what the second capture meets.
    try await Task.sleep(for: .seconds(2.5))
    let parameters: JSONValue = ["include_files": ["ws/*.bin"]]
    var first: JSONValue = .null
    // The first capture's time includes moving its contents from the log into the database,
    // which SQLite would otherwise do during the next commit, the second capture's.
    let firstTime = try await clock.measure {
        first = try await perform(hub, "bench", "checkpoint", parameters)
        try checkpointWAL(directory)
    }
    var second: JSONValue = .null
    let secondTime = try await clock.measure { second = try await perform(hub, "bench", "checkpoint", parameters) }
    try await hub.store.close()
    directory.remove()
    let ratio = seconds(secondTime) / max(seconds(firstTime), 1e-9)
    print(
        "{\"benchmark\": \"second capture of unchanged files\", \"files\": \(count), \"kib\": \(kib), "
            + "\"first_ms\": \(String(format: "%.2f", seconds(firstTime) * 1000)), "
            + "\"second_ms\": \(String(format: "%.2f", seconds(secondTime) * 1000)), "
            + "\"first_new_contents\": \(first["files"]?["new_contents"]?.intValue ?? -1), "
            + "\"second_new_contents\": \(second["files"]?["new_contents"]?.intValue ?? -1), "
            + "\"second_hash_reused\": \(second["files"]?["hash_reused"]?.intValue ?? -1), "
            + "\"ratio\": \(String(format: "%.3f", ratio)), \"target_ratio_at_most\": 0.1}")
default:
    let tasks = numbers.first ?? 10_000
    let runs = numbers.dropFirst().first ?? 7
    let (hub, directory) = try makeHub("state")
    let list: [JSONValue] = (0..<tasks).map { ["task_id": .string("t\($0)"), "description": "benchmark task"] }
    _ = try await perform(hub, "bench", "create", ["phases": [["name": "work", "tasks": .array(list)]]])
    _ = try await perform(hub, "bench", "start", [:])
    var status: [Double] = []
    var checkpoint: [Double] = []
    var restore: [Double] = []
    for _ in 0..<runs {
        status.append(seconds(try await clock.measure { _ = try await perform(hub, "bench", "get-status", [:]) }))
        var id: JSONValue = .null
        checkpoint.append(
            seconds(
                try await clock.measure {
                    id = try await perform(hub, "bench", "checkpoint", [:])["checkpoint_id"] ?? .null
                }))
        restore.append(
            seconds(
                try await clock.measure {
                    _ = try await perform(
                        hub, "bench", "restore", ["checkpoint_id": id, "strategy": "full_restore"])
                }))
        _ = try await perform(hub, "bench", "resume", [:])
    }
    try await hub.store.close()
    directory.remove()
    let s = median(status)
    let c = median(checkpoint)
    let r = median(restore)
    print(
        "{\"benchmark\": \"state-only checkpoint and restore\", \"tasks\": \(tasks), \"runs\": \(runs), "
            + "\"get_status_ms\": \(String(format: "%.2f", s * 1000)), \"checkpoint_ms\": \(String(format: "%.2f", c * 1000)), "
            + "\"restore_ms\": \(String(format: "%.2f", r * 1000)), "
            + "\"checkpoint_ratio\": \(String(format: "%.2f", c / max(s, 1e-9))), \"checkpoint_target_at_most\": 2, "
            + "\"restore_ratio\": \(String(format: "%.2f", r / max(s, 1e-9))), \"restore_target_at_most\": 3}")
}

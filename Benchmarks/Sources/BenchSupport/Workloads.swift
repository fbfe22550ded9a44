import Foundation
import GRDB
import HubCore
import HubEngine
import HubStore
import HubStoreSQLite
import Synchronization

/// A failure of a benchmark workload (an operation that did not succeed).
public struct WorkloadError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A fresh temporary directory, removed by ``remove()``.
public struct ScratchDirectory: Sendable {
    public let path: String

    public init(_ label: String) throws {
        let base = ProcessInfo.processInfo.environment["BENCH_TMPDIR"] ?? NSTemporaryDirectory()
        path = (base as NSString).appendingPathComponent("hub-bench-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The engine workload: `create` + `start` + `get-status` on a fresh workflow,
/// through `Hub.perform` on the embedded SQLite store (WAL, `synchronous=FULL`).
/// Each cycle commits two write transactions (create, start); get-status only reads.
public final class EngineWorkload: Sendable {
    public let directory: ScratchDirectory
    public let hub: Hub
    let createParameters: JSONValue
    let prefix: String

    /// The store's time split, when the workload was made with `timed: true`.
    public let timing: StoreTiming?

    public init(timed: Bool = false, pooled: Bool = false) throws {
        directory = try ScratchDirectory("engine")
        let sqlite = try SQLiteStore(
            path: (directory.path as NSString).appendingPathComponent("hub.sqlite"), pooled: pooled)
        let timing = timed ? StoreTiming() : nil
        self.timing = timing
        let store: any Store = timing.map { TimedStore(sqlite, timing: $0) } ?? sqlite
        hub = Hub(store: store, stateDirectory: directory.path, workingDirectory: directory.path)
        createParameters = try JSONParser.parse(#"{"phases":["a","b"]}"#)
        prefix = "w\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Write transactions committed by one ``cycle(_:)``.
    public static let writesPerCycle = 2

    /// One cycle on workflow number `index` (each index once per workload).
    public func cycle(_ index: Int) async throws {
        try await cycle(index) { _, _ in }
    }

    /// The operations of one cycle, in order.
    public static let operations = ["create", "start", "get-status"]

    /// One cycle, reporting each operation's wall-clock time to `record` (for the breakdown).
    public func cycle(_ index: Int, record: (String, Duration) -> Void) async throws {
        let id = "\(prefix)_\(index)"
        let clock = ContinuousClock()
        for operation in Self.operations {
            let parameters = operation == "create" ? createParameters : JSONValue.emptyObject
            let started = clock.now
            let response = await hub.perform(
                OperationRequest(workflowID: id, operation: operation, parameters: parameters))
            record(operation, clock.now - started)
            guard response.succeeded else {
                throw WorkloadError("\(operation) \(id) failed: \(response.json.serialized(.compact))")
            }
        }
    }

    public func close() async throws {
        try await hub.store.close()
        directory.remove()
    }
}

/// Where a store's time goes: per kind of access (read, write), the calls, the
/// time of the whole call and the time inside the caller's body; the rest of a
/// write is taking the writer, `BEGIN IMMEDIATE`, the commit and its fsync.
public final class StoreTiming: Sendable {
    public struct Totals: Sendable {
        public var calls = 0
        public var total = Duration.zero
        public var body = Duration.zero
        public init() {}
    }
    private let totals = Mutex<[String: Totals]>([:])

    func add(_ kind: String, total: Duration, body: Duration) {
        totals.withLock { all in
            all[kind, default: Totals()].calls += 1
            all[kind, default: Totals()].total += total
            all[kind, default: Totals()].body += body
        }
    }

    public var snapshot: [String: Totals] { totals.withLock { $0 } }
}

/// A store that times every access of the store it wraps.
final class TimedStore: Store {
    let inner: any Store
    let timing: StoreTiming

    init(_ inner: any Store, timing: StoreTiming) {
        self.inner = inner
        self.timing = timing
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        let clock = ContinuousClock()
        let started = clock.now
        let inside = Mutex(Duration.zero)
        let value = try await inner.read { tx in
            let entered = clock.now
            defer { inside.withLock { $0 = clock.now - entered } }
            return try body(tx)
        }
        timing.add("read", total: clock.now - started, body: inside.withLock { $0 })
        return value
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T {
        let clock = ContinuousClock()
        let started = clock.now
        let inside = Mutex(Duration.zero)
        let value = try await inner.write { tx in
            let entered = clock.now
            defer { inside.withLock { $0 = clock.now - entered } }
            return try body(tx)
        }
        timing.add("write", total: clock.now - started, body: inside.withLock { $0 })
        return value
    }

    func close() async throws { try await inner.close() }
}

/// The limit: a bare GRDB loop on a `DatabaseQueue` with the same durability
/// settings (WAL, `synchronous=FULL`), one small row per write transaction.
public final class BareGRDBWorkload: Sendable {
    public let directory: ScratchDirectory
    let queue: DatabaseQueue

    public init() throws {
        directory = try ScratchDirectory("grdb")
        var config = GRDB.Configuration()
        config.journalMode = .wal
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        queue = try DatabaseQueue(
            path: (directory.path as NSString).appendingPathComponent("bare.sqlite"), configuration: config)
        // GRDB's WAL setup runs after prepareDatabase and sets synchronous = NORMAL,
        // which skips the fsync at commit: set FULL again, and check it.
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            let level = try Int.fetchOne(db, sql: "PRAGMA synchronous")
            let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode")
            guard level == 2, mode == "wal" else {
                throw WorkloadError(
                    "bare GRDB connection is not WAL + synchronous=FULL (\(String(describing: mode)), \(String(describing: level)))"
                )
            }
        }
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v TEXT NOT NULL)")
        }
    }

    /// One fsynced write transaction inserting one row.
    public func transaction(_ index: Int) throws {
        try queue.write { db in
            try db.execute(sql: "INSERT INTO t (k, v) VALUES (?, ?)", arguments: ["w\(index)", "running"])
        }
    }

    public func close() throws {
        try queue.close()
        directory.remove()
    }
}

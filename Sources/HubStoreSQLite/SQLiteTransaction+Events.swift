import CompressNIO
import Foundation
import GRDB
import HubCore
import HubStore
import NIOCore

/// The event log (appends, queries, lookups), subscriptions, dead letters and settings (§10).
extension SQLiteTransaction {
    // MARK: The log

    func events(_ query: EventQuery) throws -> [HubEvent] {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if let after = query.afterSequence {
            clauses.append("sequence > ?")
            _ = arguments.append(contentsOf: [after])
        }
        if let workflowID = query.workflowID {
            clauses.append("workflow_id = ?")
            _ = arguments.append(contentsOf: [workflowID])
        }
        if let before = query.beforeSequence {
            clauses.append("sequence < ?")
            _ = arguments.append(contentsOf: [before])
        }
        if let since = query.since {
            clauses.append("timestamp >= ?")
            _ = arguments.append(contentsOf: [since])
        }
        if let until = query.until {
            clauses.append("timestamp <= ?")
            _ = arguments.append(contentsOf: [until])
        }
        if !query.severities.isEmpty {
            clauses.append("severity IN (\(query.severities.map { _ in "?" }.joined(separator: ",")))")
            for s in query.severities { _ = arguments.append(contentsOf: [s.rawValue]) }
        }
        if !query.eventTypes.isEmpty {
            clauses.append("event_type IN (\(query.eventTypes.map { _ in "?" }.joined(separator: ",")))")
            for t in query.eventTypes { _ = arguments.append(contentsOf: [t]) }
        }
        let filter = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        _ = arguments.append(contentsOf: [query.limit])
        let order = query.descending ? "DESC" : "ASC"
        // Through the statement cache: a followed stream runs the same query after every
        // publish, and compiling it each time was about a tenth of the server's CPU in the
        // SSE benchmark. The text varies only with which filters are set and the length of
        // the type and severity lists (at most 100 and 4), so the cache stays small.
        return try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT \(Self.eventColumns) FROM events \(filter) ORDER BY sequence \(order) LIMIT ?"),
            arguments: arguments
        ).map(Self.event(from:))
    }

    func lastEventSequence() throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(sequence), 0) FROM events")) ?? 0
    }

    /// How far back of the newest event's time an append may be stamped and still take that
    /// time (milliseconds): the longest an operation waits for the writer, not a clock's error.
    static let timeCarriedForward: Int64 = 60_000

    /// Rows per INSERT statement: a batch is cut greedily into statements of these sizes, so
    /// four cached statements serve every batch.
    private static let rowsPerStatement = [64, 16, 4, 1]

    func append(_ events: [EventToAppend], timestamp given: Int64) throws -> [HubEvent] {
        // The log's times never go back along its sequence: an operation reads the clock before
        // it waits for the writer, so one that started first (in this process or another) may
        // commit after one that started later. Stamped with its own time, its events were
        // earlier than events before them, and a reader polling with `since` the last time it
        // saw skipped them. Such an event takes the time of the one before it — when that is at
        // most a minute later (a wait for the writer): one stamped far ahead (a clock stepped
        // back, a process with a wrong clock) would otherwise stop the log's time there.
        let latest = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT timestamp FROM events ORDER BY sequence DESC LIMIT 1"))
        let timestamp = latest.map { $0 > given && $0 - given <= Self.timeCarriedForward ? $0 : given } ?? given
        // Several rows per statement: AUTOINCREMENT reads and writes its counter once per
        // statement, and the statement's set-up is paid once, not once per event.
        var out: [HubEvent] = []
        out.reserveCapacity(events.count)
        var start = 0
        while start < events.count {
            let rows = Self.rowsPerStatement.first { $0 <= events.count - start } ?? 1
            let chunk = events[start..<(start + rows)]
            var insert = try RawStatement(db.cachedStatement(sql: Self.insertEvents(rows: rows)), in: db)
            for e in chunk {
                let d = e.draft
                try insert.bind(e.eventID)
                try insert.bind(d.eventType)
                try insert.bind(d.workflowID)
                try insert.bind(d.phase)
                try insert.bind(d.severity.rawValue)
                try insert.bind(d.source)
                try insert.bind(timestamp)
                try insert.bind(e.serializedData)
                try insert.bind(d.subject)
                try insert.bind(d.metadata.correlationID)
                try insert.bind(d.metadata.causationID)
                try insert.bind(d.metadata.tags.isEmpty ? nil : JSONValue.strings(d.metadata.tags).serialized())
                try insert.bind(d.dedupID)
            }
            try insert.run()
            // One statement of one writer: its rows took consecutive sequences, the last reported here.
            var sequence = db.lastInsertedRowID - Int64(rows) + 1
            for e in chunk {
                let d = e.draft
                out.append(
                    HubEvent(
                        eventID: e.eventID, sequence: sequence, eventType: d.eventType, workflowID: d.workflowID,
                        phase: d.phase, severity: d.severity, source: d.source, timestamp: timestamp, data: d.data,
                        subject: d.subject, metadata: d.metadata, dedupID: d.dedupID))
                sequence += 1
            }
            start += rows
        }
        appended?.events += out
        return out
    }

    private static func insertEvents(rows: Int) -> String {
        """
        INSERT INTO events (event_id, event_type, workflow_id, phase, severity, source, timestamp, data, subject,
          correlation_id, causation_id, tags, dedup_id) VALUES 
        """ + Array(repeating: "(?,?,?,?,?,?,?,?,?,?,?,?,?)", count: rows).joined(separator: ",")
    }

    /// The columns ``event(from:)`` reads, in its order.
    static let eventColumns = ColumnReader.list([
        "event_id", "sequence", "event_type", "workflow_id", "phase", "severity", "source", "timestamp", "data_gz",
        "data", "subject", "correlation_id", "causation_id", "tags", "dedup_id",
    ])

    /// An event from a row of ``eventColumns``.
    static func event(from row: Row) -> HubEvent {
        var c = ColumnReader(row)
        return HubEvent(
            eventID: c.next(), sequence: c.next(), eventType: c.next(), workflowID: c.optional(), phase: c.next(),
            severity: Severity(rawValue: c.next()) ?? .info, source: c.next(), timestamp: c.next(),
            data: eventData(compressed: c.optional(), plain: c.optional()), subject: c.next(),
            metadata: EventMetadata(
                correlationID: c.optional(), causationID: c.optional(),
                tags: JSONValue.stored(c.optional())?.arrayValue?.compactMap(\.stringValue) ?? []),
            dedupID: c.optional())
    }

    func event(id: String) throws -> HubEvent? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Self.eventColumns) FROM events WHERE event_id = ?"), arguments: [id]
        )
        .map(Self.event(from:))
    }

    func events(causedBy eventIDs: [String]) throws -> [HubEvent] {
        guard !eventIDs.isEmpty else { return [] }
        let marks = eventIDs.map { _ in "?" }.joined(separator: ",")
        return try Row.fetchAll(
            db, sql: "SELECT \(Self.eventColumns) FROM events WHERE causation_id IN (\(marks)) ORDER BY sequence",
            arguments: StatementArguments(eventIDs)
        ).map(Self.event(from:))
    }

    func event(dedupID: String, workflowID: String?, since: Int64) throws -> HubEvent? {
        try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT \(Self.eventColumns) FROM events WHERE dedup_id = ? AND timestamp >= ? AND workflow_id IS ?
                    ORDER BY timestamp DESC, sequence DESC LIMIT 1
                    """),
            arguments: [dedupID, since, workflowID]
        ).map(Self.event(from:))
    }

    func firstSequence(atOrAfter time: Int64) throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT MIN(sequence) FROM events WHERE timestamp >= ?"), arguments: [time])
    }

    func firstSequence(after sequence: Int64) throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT MIN(sequence) FROM events WHERE sequence > ?"), arguments: [sequence])
    }

    func lastSequence(atOrBefore time: Int64) throws -> Int64 {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT COALESCE(MAX(sequence), 0) FROM events WHERE timestamp <= ?"),
            arguments: [time]) ?? 0
    }

    func eventVolume(of workflowID: String?) throws -> (count: Int, dataBytes: Int64) {
        let row = try Row.fetchOne(
            db,
            sql: """
                SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(data)), 0) + COALESCE(SUM(LENGTH(data_gz)), 0) AS bytes
                FROM events\(workflowID == nil ? "" : " WHERE workflow_id = ?")
                """, arguments: workflowID.map { [$0] } ?? [])
        return (row?["n"] ?? 0, row?["bytes"] ?? 0)
    }

    func deleteEvents(_ rule: RetentionRule) throws -> Int {
        var clauses = ["timestamp < ?"]
        var arguments: StatementArguments = [rule.before]
        if let infoBefore = rule.infoBefore {
            let kept = rule.keptTypes.map { _ in "?" }.joined(separator: ",")
            clauses.append(
                "(severity = 'info' AND timestamp < ?" + (kept.isEmpty ? ")" : " AND event_type NOT IN (\(kept)))"))
            _ = arguments.append(contentsOf: [infoBefore])
            _ = arguments.append(contentsOf: StatementArguments(rule.keptTypes))
        }
        if let through = rule.acknowledgedThrough {
            clauses.append("sequence <= ?")
            _ = arguments.append(contentsOf: [through])
        }
        if !rule.acknowledgedSequences.isEmpty {
            // One bound JSON array, however many: a statement's variables are limited.
            clauses.append("sequence IN (SELECT value FROM json_each(?))")
            _ = arguments.append(contentsOf: [
                JSONValue.array(rule.acknowledgedSequences.map { .int($0) }).serialized(.compact)
            ])
        }
        var scope = ""
        if let workflowID = rule.workflowID {
            scope = " AND workflow_id = ?"
            _ = arguments.append(contentsOf: [workflowID])
        } else if !rule.exceptWorkflows.isEmpty {
            scope =
                " AND (workflow_id IS NULL OR workflow_id NOT IN (\(rule.exceptWorkflows.map { _ in "?" }.joined(separator: ","))))"
            _ = arguments.append(contentsOf: StatementArguments(rule.exceptWorkflows))
        }
        // The newest event always stays, so AUTOINCREMENT's high-water mark and
        // `lastEventSequence` keep counting from it after everything older went. A dead-lettered
        // event stays while its dead letter does: the letter is how its subscriber learns what it
        // never got (§10), and a letter without its event says nothing.
        try db.execute(
            sql: """
                DELETE FROM events WHERE (\(clauses.joined(separator: " OR ")))\(scope)
                  AND sequence < (SELECT MAX(sequence) FROM events)
                  AND sequence NOT IN (SELECT sequence FROM dead_letters)
                """, arguments: arguments)
        return db.changesCount
    }

    func storageBytes() throws -> Int64 {
        // A serving store's WAL holds every page written since the last checkpoint and is not
        // truncated by one, so it can outgrow the database; the -shm index is on disk too.
        let path = try String.fetchOne(db, sql: "SELECT file FROM pragma_database_list WHERE name = 'main'") ?? ""
        let sidecars = path.isEmpty ? 0 : ["-wal", "-shm"].reduce(Int64(0)) { $0 + Self.fileBytes(path + $1) }
        let file = path.isEmpty ? 0 : Self.fileBytes(path)
        if file > 0 { return file + sidecars }
        // No file (an in-memory database): the pages it holds.
        let pages = try Int64.fetchOne(db, sql: "PRAGMA page_count") ?? 0
        let size = try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 0
        return pages * size + sidecars
    }

    /// A file's size on disk, or 0 when there is none (an in-memory database, a WAL not yet made).
    static func fileBytes(_ path: String) -> Int64 {
        let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber
        return size?.int64Value ?? 0
    }

    func compressEventData(
        afterSequence: Int64, before: Int64, limit: Int, compressing: (String?) -> Bool
    ) throws -> CompressionPass {
        let rows = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT sequence, data, workflow_id FROM events WHERE sequence > ? AND timestamp < ? AND data_gz IS NULL
                    ORDER BY sequence LIMIT ?
                    """), arguments: [afterSequence, before, limit])
        var pass = CompressionPass(throughSequence: nil, events: 0, bytesBefore: 0, bytesAfter: 0)
        for row in rows {
            let sequence: Int64 = row["sequence"]
            let data: String = row["data"]
            pass.throughSequence = sequence
            guard compressing(row["workflow_id"]) else { continue }
            var buffer = ByteBuffer(string: data)
            var out = try buffer.compress(with: .gzip())
            let compressed = out.readBytes(length: out.readableBytes) ?? []
            // Small payloads can grow under gzip: those stay as they are.
            guard compressed.count < data.utf8.count else { continue }
            try db.cachedStatement(sql: "UPDATE events SET data = '', data_gz = ? WHERE sequence = ?")
                .execute(arguments: [Data(compressed), sequence])
            pass.events += 1
            pass.bytesBefore += Int64(data.utf8.count)
            pass.bytesAfter += Int64(compressed.count)
        }
        return pass
    }

    /// An event's `data`, from its compressed form when it has one.
    /// An event's data from its stored columns: compressed (`data_gz`) or plain.
    static func eventData(compressed: Data?, plain: String?) -> JSONValue {
        if let compressed {
            var buffer = ByteBuffer(bytes: compressed)
            guard var out = try? buffer.decompress(with: .gzip(), maxSize: 64 << 20),
                let bytes = out.readBytes(length: out.readableBytes)
            else { return ["error": "the stored compressed data is damaged"] }
            return JSONValue.stored(String(decoding: bytes, as: UTF8.self)) ?? .null
        }
        return JSONValue.stored(plain) ?? .null
    }

    // MARK: Subscriptions

    func subscription(_ idOrCallback: String) throws -> Subscription? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM subscriptions WHERE id = ? OR callback = ? LIMIT 1"),
            arguments: [idOrCallback, idOrCallback]
        ).map(Self.subscription(from:))
    }

    func subscriptions() throws -> [Subscription] {
        try Row.fetchAll(db, sql: "SELECT * FROM subscriptions ORDER BY created_at, id").map(Self.subscription(from:))
    }

    func insert(_ s: Subscription) throws {
        if try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT 1 FROM subscriptions WHERE callback = ? OR id = ?"),
            arguments: [s.callback, s.callback]) != nil
        {
            throw HubError.parameter(
                "callback", "\"\(s.callback)\" is already the name of a subscription",
                suggestions: [
                    "Pick another callback name, or remove the old one with unsubscribe-event '{\"subscription\": \"\(s.callback)\"}'"
                ])
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO subscriptions (id, callback, patterns, filter, delivery, webhook_url, secret, retry_policy,
                  cursor, replay_end, resume_at, smart_filtering, optimization_goal, created_at, counters,
                  adaptive_filtering, replay_narrowing)
                VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                """
        ).execute(arguments: Self.arguments(s))
    }

    func update(_ s: Subscription) throws {
        try db.cachedStatement(
            sql: """
                UPDATE subscriptions SET id = ?, callback = ?, patterns = ?, filter = ?, delivery = ?, webhook_url = ?,
                  secret = ?, retry_policy = ?, cursor = ?, replay_end = ?, resume_at = ?, smart_filtering = ?,
                  optimization_goal = ?, created_at = ?, counters = ?, adaptive_filtering = ?, replay_narrowing = ?
                  WHERE id = ?
                """
        ).execute(arguments: Self.arguments(s) + [s.id])
    }

    func removeSubscription(_ id: String) throws {
        try db.execute(sql: "DELETE FROM dead_letters WHERE subscription_id = ?", arguments: [id])
        try db.execute(sql: "DELETE FROM subscriptions WHERE id = ?", arguments: [id])
    }

    private static func arguments(_ s: Subscription) -> StatementArguments {
        [
            s.id, s.callback, JSONValue.strings(s.patterns).serialized(), s.filter.json.serialized(),
            s.delivery.rawValue, s.webhookURL, s.secret, s.retryPolicy.json.serialized(), s.cursor, s.replayEnd,
            s.resumeAt, s.smartFiltering, s.optimizationGoal.rawValue, s.createdAt, s.counters.json.serialized(),
            s.adaptiveFiltering, s.replayNarrowing?.json.serialized(),
        ]
    }

    private static func subscription(from row: Row) -> Subscription {
        Subscription(
            id: row["id"], callback: row["callback"],
            patterns: JSONValue.stored(row["patterns"])?.arrayValue?.compactMap(\.stringValue) ?? [],
            filter: EventFilter(json: JSONValue.stored(row["filter"]) ?? .emptyObject),
            delivery: DeliveryMethod(rawValue: row["delivery"]) ?? .realtime, webhookURL: row["webhook_url"],
            secret: row["secret"],
            retryPolicy: RetryPolicy(json: JSONValue.stored(row["retry_policy"]) ?? .emptyObject),
            cursor: row["cursor"], replayEnd: row["replay_end"], resumeAt: row["resume_at"],
            replayNarrowing: ReplayNarrowing(json: JSONValue.stored(row["replay_narrowing"])),
            smartFiltering: row["smart_filtering"], adaptiveFiltering: row["adaptive_filtering"],
            optimizationGoal: OptimizationGoal(rawValue: row["optimization_goal"]) ?? .efficiency,
            createdAt: row["created_at"],
            counters: SubscriptionCounters(json: JSONValue.stored(row["counters"]) ?? .emptyObject))
    }

    // MARK: Dead letters

    func deadLetters(subscriptionID: String, afterSequence: Int64, limit: Int) throws -> [DeadLetter] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT * FROM dead_letters WHERE subscription_id = ? AND sequence > ? ORDER BY sequence LIMIT ?"),
            arguments: [subscriptionID, afterSequence, limit]
        ).map { row in
            DeadLetter(
                subscriptionID: row["subscription_id"], sequence: row["sequence"], eventID: row["event_id"],
                attempts: row["attempts"], lastError: row["last_error"], at: row["at"])
        }
    }

    func insert(_ d: DeadLetter) throws {
        try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO dead_letters (subscription_id, sequence, event_id, attempts, last_error, at)
                VALUES (?,?,?,?,?,?)
                """
        ).execute(arguments: [d.subscriptionID, d.sequence, d.eventID, d.attempts, d.lastError, d.at])
    }

    // MARK: Settings

    func setting(_ key: String) throws -> JSONValue? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM hub_settings WHERE key = ?"), arguments: [key])
            .flatMap(JSONValue.stored)
    }

    func setSetting(_ key: String, _ value: JSONValue) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO hub_settings (key, value) VALUES (?, ?)")
            .execute(arguments: [key, value.serialized()])
    }
}

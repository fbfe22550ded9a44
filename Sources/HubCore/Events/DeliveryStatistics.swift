import Foundation

/// What the delivery engine has measured, kept in the store so any process can
/// report it (`get-metrics`): counters and a latency histogram, nothing derived
/// from assumptions. Every field starts at zero; a ratio with no denominator is `nil`.
public struct DeliveryStatistics: Sendable, Equatable {
    /// Batches handed over (a realtime stream's single events count as batches of one).
    public var batches: Int = 0
    /// Events handed over in them.
    public var eventsDelivered: Int = 0
    /// Delivery attempts that failed and were retried.
    public var retries: Int = 0
    /// Events moved to a dead-letter list.
    public var deadLettered: Int = 0
    /// Events checked for duplicates, and those dropped as duplicates.
    public var dedupChecked: Int = 0
    public var dedupDropped: Int = 0
    /// Bytes of bodies before and after gzip, for compressed deliveries only.
    public var uncompressedBytes: Int64 = 0
    public var compressedBytes: Int64 = 0
    /// Time from an event's timestamp to its delivery.
    public var latency = LatencyHistogram()
    /// The first and last delivery (milliseconds since 1970), for throughput.
    public var firstDeliveryAt: Int64?
    public var lastDeliveryAt: Int64?

    public init() {}

    /// Records one delivered batch of events stored at `timestamps`, delivered at `now`.
    public mutating func recordBatch(eventTimestamps timestamps: [Int64], now: Int64) {
        guard !timestamps.isEmpty else { return }
        batches += 1
        eventsDelivered += timestamps.count
        for t in timestamps { latency.record(milliseconds: max(0, now - t)) }
        firstDeliveryAt = min(firstDeliveryAt ?? now, now)
        lastDeliveryAt = max(lastDeliveryAt ?? now, now)
    }

    /// Records one compressed body.
    public mutating func recordCompression(before: Int, after: Int) {
        uncompressedBytes += Int64(before)
        compressedBytes += Int64(after)
    }

    public var meanBatchSize: Double? { batches == 0 ? nil : Double(eventsDelivered) / Double(batches) }
    /// Dropped ÷ checked.
    public var deduplicationRate: Double? { dedupChecked == 0 ? nil : Double(dedupDropped) / Double(dedupChecked) }
    /// Compressed ÷ uncompressed bytes (lower is better).
    public var compressionRatio: Double? {
        uncompressedBytes == 0 ? nil : Double(compressedBytes) / Double(uncompressedBytes)
    }
    /// Events per second between the first and last delivery.
    public var throughput: Double? {
        guard let first = firstDeliveryAt, let last = lastDeliveryAt, last > first else { return nil }
        return Double(eventsDelivered) / (Double(last - first) / 1000)
    }

    public var json: JSONValue {
        [
            "batches": .count(batches), "events_delivered": .count(eventsDelivered), "retries": .count(retries),
            "dead_lettered": .count(deadLettered), "dedup_checked": .count(dedupChecked),
            "dedup_dropped": .count(dedupDropped), "uncompressed_bytes": .int(uncompressedBytes),
            "compressed_bytes": .int(compressedBytes), "latency": latency.json,
            "first_delivery_at": .optional(firstDeliveryAt), "last_delivery_at": .optional(lastDeliveryAt),
        ]
    }

    public init(json: JSONValue) {
        func n(_ key: String) -> Int { Int(clamping: json[key]?.intValue ?? 0) }
        batches = n("batches")
        eventsDelivered = n("events_delivered")
        retries = n("retries")
        deadLettered = n("dead_lettered")
        dedupChecked = n("dedup_checked")
        dedupDropped = n("dedup_dropped")
        uncompressedBytes = json["uncompressed_bytes"]?.intValue ?? 0
        compressedBytes = json["compressed_bytes"]?.intValue ?? 0
        latency = LatencyHistogram(json: json["latency"] ?? .emptyObject)
        firstDeliveryAt = json["first_delivery_at"]?.intValue
        lastDeliveryAt = json["last_delivery_at"]?.intValue
    }

    /// The key the store keeps these under.
    public static let settingKey = "delivery_statistics"
}

/// A histogram of millisecond latencies in fixed buckets, each about 19% wider than
/// the last (4 per doubling), so a percentile is within one bucket of the truth.
/// Mergeable and small enough to store.
public struct LatencyHistogram: Sendable, Equatable {
    /// Counts per bucket index.
    public private(set) var counts: [Int: Int] = [:]
    public private(set) var total: Int = 0
    public private(set) var maximum: Int64 = 0

    public init() {}

    /// The bucket of `ms`: 0 for 0 ms, then 4 buckets per power of two.
    static func bucket(_ ms: Int64) -> Int {
        guard ms > 0 else { return 0 }
        return 1 + Int((log2(Double(ms)) * 4).rounded(.down))
    }

    /// The upper bound of a bucket, in milliseconds.
    static func upperBound(_ bucket: Int) -> Double {
        guard bucket > 0 else { return 0 }
        return pow(2, Double(bucket) / 4)
    }

    public mutating func record(milliseconds ms: Int64) {
        counts[Self.bucket(ms), default: 0] += 1
        total += 1
        maximum = max(maximum, ms)
    }

    /// The latency below which `fraction` of the recorded ones fall (bucket upper bound), or `nil` when empty.
    public func percentile(_ fraction: Double) -> Double? {
        guard total > 0 else { return nil }
        let rank = max(1, Int((fraction * Double(total)).rounded(.up)))
        var seen = 0
        for bucket in counts.keys.sorted() {
            seen += counts[bucket] ?? 0
            if seen >= rank { return min(Self.upperBound(bucket), Double(maximum)) }
        }
        return Double(maximum)
    }

    public var json: JSONValue {
        var buckets: JSONValue = .emptyObject
        for key in counts.keys.sorted() { buckets[String(key)] = .count(counts[key] ?? 0) }
        return ["buckets": buckets, "total": .count(total), "max_ms": .int(maximum)]
    }

    public init(json: JSONValue) {
        for (key, value) in json["buckets"]?.objectValue ?? [:] {
            if let bucket = Int(key), let n = value.intValue { counts[bucket] = Int(clamping: n) }
        }
        total = Int(clamping: json["total"]?.intValue ?? 0)
        maximum = json["max_ms"]?.intValue ?? 0
    }
}

import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// `hub-load sse URL [--rate 5000] [--seconds 10] [--batch 10] [--warmup 1]`: issue 6 (c).
///
/// Reads GET /v1/events/stream (only this run's event type) while publishing at a steady
/// `rate` events per second: a publish-event of `batch` events every `batch / rate`
/// seconds, each due at a fixed offset from the start (a late one does not shift the
/// rest), not waiting for the previous answer. Each event's data carries its number and
/// the CLOCK_MONOTONIC time just before its request was sent; the latency of an event is
/// the time its bytes came off the stream's socket minus that. Events sent in the first
/// `warmup` seconds are not counted.
enum SSEScenario {
    static let targetP99Ms = 1.0

    static func run(_ arguments: [String]) async throws -> [String: Any] {
        let options = try Options(arguments, known: ["rate", "seconds", "batch", "warmup", "server-pid"])
        let rate = try options.double("rate", default: 5000, minimum: 1)
        let seconds = try options.double("seconds", default: 10, minimum: 0.1)
        let batch = try options.int("batch", default: 10)
        let warmup = try options.double("warmup", default: 1)
        let server = try serverProcess(options)
        // A type of this run's own, so the stream carries nothing else.
        let eventType = "load_sse_\(getpid())"
        let tally = SSETally()

        return try await HubClient.with(options.url, connections: 64) { client in
            let stream = SSEStream { n, sent, received in tally.received(n: n, latency: received - sent) }
            let request = try HTTPClient.Request(
                url: options.url + "/v1/events/stream?event_types=\(eventType)", method: .GET)
            let reading = client.http.execute(request: request, delegate: stream)
            defer { reading.cancel() }

            // Probe events (n = -1) until the stream shows one: the stream is then live.
            let ready = Clock.monotonicNanoseconds() + 10_000_000_000
            while tally.probesSeen == 0 {
                guard Clock.monotonicNanoseconds() < ready else {
                    throw LoadError(
                        "the event stream delivered nothing within 10 s (HTTP status \(stream.responseStatus.map(String.init) ?? "none"))"
                    )
                }
                try await publish(client, type: eventType, numbers: [-1], tally: nil)
                try await Task.sleep(for: .milliseconds(20))
            }

            let interval = Double(batch) / rate
            let ticks = Int(((warmup + seconds) / interval).rounded())
            let warmupTicks = Int((warmup / interval).rounded())
            let clock = ContinuousClock()
            let start = clock.now
            var watch: CPUWatch?
            var lateness = Samples()
            await withDiscardingTaskGroup { group in
                for tick in 0..<ticks {
                    let due = start + .seconds(interval * Double(tick))
                    try? await Task.sleep(until: due, tolerance: .zero, clock: clock)
                    if tick == warmupTicks { watch = CPUWatch(server: server) }
                    let late = clock.now - due
                    lateness.add(nanoseconds(late))
                    let numbers = Array(tick * batch..<(tick + 1) * batch)
                    let counted = tick >= warmupTicks
                    group.addTask {
                        try? await publish(client, type: eventType, numbers: numbers, tally: counted ? tally : nil)
                    }
                }
            }
            let sendSeconds = rounded(Double(nanoseconds(clock.now - start)) / 1e9)
            let cpu = watch?.report() ?? [:]
            // Give the stream up to 5 s to deliver what was acknowledged.
            let grace = Clock.monotonicNanoseconds() + 5_000_000_000
            while tally.missing > 0 && Clock.monotonicNanoseconds() < grace {
                try await Task.sleep(for: .milliseconds(10))
            }
            let summary = tally.snapshot()
            let latency = summary.latency.summary()
            let p99 = latency["p99_ms"] as? Double
            var out: [String: Any] = [
                "scenario": "sse", "url": options.url, "rate": rate, "batch": batch,
                "seconds": seconds, "warmup_seconds": warmup, "send_seconds": sendSeconds,
                "published_events": summary.acknowledged, "received_events": summary.latency.count,
                "not_received": summary.acknowledged - summary.latency.count,
                "failed_publishes": summary.failed, "latency": latency,
                "target_p99_ms": targetP99Ms, "met": (p99 ?? .infinity) <= targetP99Ms,
                "publish_latency": summary.publishLatency.summary(),
                "publish_in_hub": summary.publishInHub.summary(), "max_in_flight": summary.maxInFlight,
                "pacing_lateness": lateness.summary(), "cpu": cpu,
            ]
            if let error = summary.firstError { out["first_error"] = error }
            return out
        }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }

    /// One publish-event of `numbers.count` probe events stamped with the send time.
    static func publish(_ client: HubClient, type: String, numbers: [Int], tally: SSETally?) async throws {
        tally?.sending(numbers)
        let sent = Clock.monotonicNanoseconds()
        var text = "{\"events\":["
        for (index, n) in numbers.enumerated() {
            if index > 0 { text += "," }
            text += "{\"event_type\":\"\(type)\",\"data\":{\"n\":\(n),\"sent_ns\":\(sent)}}"
        }
        text += "]}"
        do {
            let (status, body) = try await client.post("/v1/publish-event", body: ByteBuffer(string: text))
            let done = Clock.monotonicNanoseconds()
            let (published, inHub) = try HubClient.answer(
                of: "publish-event", status: status, body: body, as: Published.self)
            tally?.acknowledged(numbers, published: published.published, latency: done - sent, inHub: inHub)
        } catch {
            tally?.failed(numbers, error: error)
            if tally == nil { throw error }
        }
    }
}

/// What the SSE scenario counted, from the publishing tasks and the stream's event loop.
final class SSETally: Sendable {
    struct State {
        var latency = Samples()
        var publishLatency = Samples()
        var publishInHub = Samples()
        var acknowledged = 0
        var failed = 0
        var firstError: String?
        var inFlight = 0
        var maxInFlight = 0
        /// Counted events sent but not yet seen on the stream.
        var awaited = Set<Int>()
        var probesSeen = 0
    }

    private let state = NIOLockedValueBox(State())

    func sending(_ numbers: [Int]) {
        state.withLockedValue {
            $0.inFlight += 1
            $0.maxInFlight = max($0.maxInFlight, $0.inFlight)
            $0.awaited.formUnion(numbers)
        }
    }

    func acknowledged(_ numbers: [Int], published: Int, latency: Int64, inHub: Int64?) {
        state.withLockedValue {
            $0.inFlight -= 1
            $0.acknowledged += published
            $0.publishLatency.add(latency)
            if let inHub { $0.publishInHub.add(inHub) }
        }
    }

    func failed(_ numbers: [Int], error: any Error) {
        state.withLockedValue {
            $0.inFlight -= 1
            $0.failed += 1
            $0.awaited.subtract(numbers)
            if $0.firstError == nil { $0.firstError = "\(error)" }
        }
    }

    /// An event seen on the stream: a probe (n < 0) or one of the counted events.
    func received(n: Int, latency: Int64) {
        state.withLockedValue {
            if n < 0 {
                $0.probesSeen += 1
            } else if $0.awaited.remove(n) != nil {
                $0.latency.add(latency)
            }
        }
    }

    var probesSeen: Int { state.withLockedValue { $0.probesSeen } }
    var missing: Int { state.withLockedValue { $0.awaited.count } }
    func snapshot() -> State { state.withLockedValue { $0 } }
}

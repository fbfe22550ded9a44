import Foundation
import NIOCore

/// `hub-load publish URL [--batch 100] [--size 200] [--seconds 10] [--concurrency 8] [--warmup 1]`:
/// issue 6 (b).
///
/// `concurrency` loops each POST /v1/publish-event with an `events` list of `batch`
/// events of `size` bytes each (the event object as sent), the next as soon as the last
/// is answered. Counts the events of success answers that arrive in the measured window
/// (after `warmup` seconds, for `seconds` seconds); requests answered outside it are not
/// counted.
enum PublishScenario {
    static let target = 100_000.0
    static let eventType = "load_publish"

    static func run(_ arguments: [String]) async throws -> [String: Any] {
        let options = try Options(
            arguments, known: ["batch", "size", "seconds", "concurrency", "warmup", "server-pid"])
        let batch = try options.int("batch", default: 100)
        let size = try options.int("size", default: 200)
        let seconds = try options.double("seconds", default: 10, minimum: 0.1)
        let concurrency = try options.int("concurrency", default: 8)
        let warmup = try options.double("warmup", default: 1)
        let server = try serverProcess(options)
        let events = EventBody(eventType: eventType, size: size)

        return try await HubClient.with(options.url, connections: concurrency) { client in
            // One request first: a refusal (a bad URL, a body limit) stops the run with its error.
            let probe = events.body(batch: batch, worker: 0, first: 0)
            let answer = try await client.post("/v1/publish-event", body: probe)
            _ = try HubClient.result(of: "publish-event", status: answer.status, body: answer.body, as: Published.self)

            let start = Clock.monotonicNanoseconds()
            let windowStart = start + Int64(warmup * 1e9)
            let windowEnd = windowStart + Int64(seconds * 1e9)
            var watch: CPUWatch?
            let workers = try await withThrowingTaskGroup(of: WorkerTally.self) { group in
                for worker in 1...concurrency {
                    group.addTask {
                        var tally = WorkerTally()
                        var sent = 0
                        var template = events.template(batch: batch, worker: worker)
                        while Clock.monotonicNanoseconds() < windowEnd {
                            template.number(sent)
                            let body = template.body
                            sent += batch
                            let began = Clock.monotonicNanoseconds()
                            let (status, reply) = try await client.post("/v1/publish-event", body: body)
                            let ended = Clock.monotonicNanoseconds()
                            // Acknowledgements are counted by when they arrive.
                            let inWindow = ended >= windowStart && ended <= windowEnd
                            do {
                                let (published, inHub) =
                                    try PublishAnswer.read(reply, status: status)
                                    ?? HubClient.answer(
                                        of: "publish-event", status: status, body: reply, as: Published.self)
                                if inWindow {
                                    tally.acknowledged += published.published
                                    tally.latency.add(ended - began)
                                    if let inHub { tally.inHub.add(inHub) }
                                }
                            } catch {
                                tally.failed += 1
                                if tally.firstError == nil { tally.firstError = "\(error)" }
                            }
                        }
                        return tally
                    }
                }
                // The CPU watch starts with the window (the workers are already going).
                let now = Clock.monotonicNanoseconds()
                if windowStart > now { try await Task.sleep(for: .nanoseconds(windowStart - now)) }
                watch = CPUWatch(server: server)
                var all: [WorkerTally] = []
                for try await tally in group { all.append(tally) }
                return all
            }
            let cpu = watch?.report() ?? [:]
            var latency = Samples()
            var inHub = Samples()
            for worker in workers {
                latency.add(contentsOf: worker.latency)
                inHub.add(contentsOf: worker.inHub)
            }
            let acknowledged = workers.reduce(0) { $0 + $1.acknowledged }
            let perSecond = Double(acknowledged) / seconds
            var out: [String: Any] = [
                "scenario": "publish", "url": options.url, "batch": batch, "event_bytes": events.eventBytes,
                "concurrency": concurrency, "seconds": seconds, "warmup_seconds": warmup,
                "acknowledged_events": acknowledged, "events_per_second": rounded(perSecond),
                "target_events_per_second": target, "met": perSecond >= target,
                "failed_requests": workers.reduce(0) { $0 + $1.failed },
                "request_latency": latency.summary(), "request_in_hub": inHub.summary(), "cpu": cpu,
            ]
            if let error = workers.compactMap(\.firstError).first { out["first_error"] = error }
            return out
        }
    }
}

/// What one publishing loop counted in the window.
struct WorkerTally: Sendable {
    var acknowledged = 0
    var failed = 0
    var firstError: String?
    var latency = Samples()
    var inHub = Samples()
}

/// The `published` count of a publish-event result.
struct Published: Decodable {
    let published: Int
}

/// A success answer of publish-event read without decoding the 100 events it echoes:
/// decoding them cost the client about 6 µs of CPU per event, a fifth of what the
/// server spent, on the same two cores. The hub writes the envelope compactly with its
/// members in a fixed order (`status` first, `result.published` first in `result`,
/// `metrics` and `next_steps` last), so the count and the hub's time are found at
/// known places; anything else (an error, another shape) gives `nil` and is decoded in
/// full by ``HubClient/answer(of:status:body:as:)``.
enum PublishAnswer {
    static func read(_ body: ByteBuffer, status: Int) -> (result: Published, executionNs: Int64?)? {
        guard status == 200 else { return nil }
        return body.withUnsafeReadableBytes { bytes -> (Published, Int64?)? in
            guard bytes.starts(with: #"{"status":"success","operation":"publish-event","#.utf8),
                let result = bytes[..<min(bytes.count, 256)].firstRange(of: Array(#""result":{"published":"#.utf8))
            else { return nil }
            var count = 0
            var index = result.upperBound
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                count = count * 10 + Int(bytes[index] - UInt8(ascii: "0"))
                index += 1
            }
            guard index > result.upperBound else { return nil }
            // `result` is within the first bytes, the metrics in the last ones.
            let tail = bytes[max(0, bytes.count - 256)...]
            guard let metrics = tail.firstRange(of: Array(#""metrics":{"execution_time":""#.utf8)),
                let end = tail[metrics.upperBound...].firstIndex(of: UInt8(ascii: "\""))
            else { return nil }
            let measured = String(decoding: tail[metrics.upperBound..<end], as: UTF8.self)
            return (Published(published: count), HubClient.nanoseconds(measured: measured))
        }
    }
}

/// Request bodies of `{"events": [...]}` whose every event object serialises to `size`
/// bytes (or the least possible when `size` is smaller): `{"event_type": T, "data":
/// {"w": worker, "n": number, "pad": "xxx"}}` with a fixed-width number.
struct EventBody: Sendable {
    let eventType: String
    let padding: String
    let eventBytes: Int

    init(eventType: String, size: Int) {
        self.eventType = eventType
        let empty = Self.event(eventType, worker: 0, number: 0, padding: "")
        padding = String(repeating: "x", count: max(0, size - empty.utf8.count))
        eventBytes = Self.event(eventType, worker: 0, number: 0, padding: padding).utf8.count
    }

    func body(batch: Int, worker: Int, first: Int) -> ByteBuffer {
        var template = template(batch: batch, worker: worker)
        template.number(first)
        return template.body
    }

    /// A body to renumber: built once per publishing loop, so that the client's CPU goes
    /// to the requests, not to building them (string interpolation of every event took a
    /// seventh of the client's time).
    func template(batch: Int, worker: Int) -> Template {
        var text = "{\"events\":["
        var offsets: [Int] = []
        for index in 0..<batch {
            if index > 0 { text += "," }
            let event = Self.event(eventType, worker: worker, number: 0, padding: padding)
            offsets.append(text.utf8.count + event.utf8.count - padding.utf8.count - Self.numberTail)
            text += event
        }
        text += "]}"
        return Template(body: ByteBuffer(string: text), numberEnds: offsets)
    }

    /// A request body whose events' numbers are written in place.
    struct Template {
        var body: ByteBuffer
        /// Where each event's number ends (one past its last digit).
        let numberEnds: [Int]

        /// Numbers the events `first`, `first + 1`, … (right-aligned in their ten places).
        mutating func number(_ first: Int) {
            for (index, end) in numberEnds.enumerated() {
                var value = first + index
                for position in stride(from: end - 1, through: end - EventBody.numberWidth, by: -1) {
                    let digit =
                        value == 0 && position != end - 1 ? UInt8(ascii: " ") : UInt8(ascii: "0") + UInt8(value % 10)
                    body.setInteger(digit, at: position)
                    value /= 10
                }
            }
        }
    }

    static let numberWidth = 10
    /// The bytes after the number in an event without padding: `,"pad":""}}`.
    static let numberTail = #","pad":""}}"#.utf8.count

    /// One event; the worker and the number have fixed widths so every event has one size.
    static func event(_ type: String, worker: Int, number: Int, padding: String) -> String {
        "{\"event_type\":\"\(type)\",\"data\":{\"w\":\(fixed(worker, 4)),\"n\":\(fixed(number, numberWidth)),\"pad\":\"\(padding)\"}}"
    }

    /// `value` in decimal, left-padded with spaces (valid JSON whitespace) to `width` characters.
    static func fixed(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: " ", count: width - digits.count) + digits
    }
}

/// `--server-pid`, when given: the server whose CPU time (or memory) is read.
func serverProcess(_ options: Options) throws(LoadError) -> ServerProcess? {
    guard let text = options.string("server-pid") else { return nil }
    guard let pid = Int32(text) else { throw LoadError("--server-pid must be a process id, not '\(text)'") }
    return try ServerProcess(pid: pid)
}

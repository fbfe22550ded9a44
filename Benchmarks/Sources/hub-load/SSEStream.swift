import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// The reading end of the SSE scenario: GET /v1/events/stream, parsed on the event loop
/// as the bytes arrive, so the receive time is taken when a chunk comes off the socket
/// and no task scheduling sits between the socket and the clock.
final class SSEStream: HTTPClientResponseDelegate, @unchecked Sendable {
    typealias Response = Void

    /// Called with each event's `data` object's `n` and `sent_ns` and the chunk's receive time.
    private let onEvent: @Sendable (_ n: Int, _ sentNs: Int64, _ receivedNs: Int64) -> Void
    /// Bytes of a line not yet complete; touched only on the connection's event loop.
    private var pending: [UInt8] = []
    private let status = NIOLockedValueBox<Int?>(nil)

    init(onEvent: @escaping @Sendable (_ n: Int, _ sentNs: Int64, _ receivedNs: Int64) -> Void) {
        self.onEvent = onEvent
    }

    /// The response status, once the head has arrived.
    var responseStatus: Int? { status.withLockedValue { $0 } }

    func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        status.withLockedValue { $0 = Int(head.status.code) }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        let received = Clock.monotonicNanoseconds()
        pending.append(contentsOf: buffer.readableBytesView)
        var lineStart = 0
        while let newline = pending[lineStart...].firstIndex(of: 0x0A) {
            handleLine(pending[lineStart..<newline], received: received)
            lineStart = newline + 1
        }
        pending.removeSubrange(0..<lineStart)
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws {}

    private static let dataPrefix = Array("data: ".utf8)

    private func handleLine(_ line: ArraySlice<UInt8>, received: Int64) {
        guard line.starts(with: Self.dataPrefix) else { return }
        let json = line.dropFirst(Self.dataPrefix.count)
        guard let event = try? JSONDecoder().decode(StreamedEvent.self, from: Data(json)), let probe = event.data
        else { return }
        onEvent(probe.n, probe.sentNs, received)
    }
}

/// An event as the stream sends it, with the load generator's data.
struct StreamedEvent: Decodable {
    let data: Probe?

    /// The data of a probe event: its number in the run and its send time (CLOCK_MONOTONIC ns).
    struct Probe: Decodable {
        let n: Int
        let sentNs: Int64
        enum CodingKeys: String, CodingKey {
            case n
            case sentNs = "sent_ns"
        }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        data = try? container.decode(Probe.self, forKey: .data)
    }

    enum CodingKeys: String, CodingKey { case data }
}

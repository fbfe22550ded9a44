import NIOCore
import NIOHTTP1
import NIOPosix

/// A real HTTP/1.1 server on `127.0.0.1` and a free port, for webhook tests: it
/// records every request and answers each as a script says.
///
/// Tests wait for requests with ``next()`` (no sleeping, no polling) and must call
/// ``shutdown()`` when done.
///
/// ```swift
/// let receiver = try await WebhookReceiver.start(statuses: [503, 503])  // then 200
/// // … deliver to receiver.url …
/// let first = await receiver.next()
/// try await receiver.shutdown()
/// ```
public final class WebhookReceiver: Sendable {
    /// One request as received.
    public struct Request: Sendable {
        /// `POST`, `GET`, …
        public let method: String
        /// The request target: path and query.
        public let path: String
        /// The headers in the order received, names as sent.
        public let headers: [(name: String, value: String)]
        /// The body bytes as received (still compressed when the sender compressed them).
        public let body: [UInt8]

        /// The first value of the header `name` (case-insensitive), or `nil`.
        public func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    /// How the receiver answers one request.
    public struct Reply: Sendable {
        /// The HTTP status.
        public var status: Int
        /// Headers besides `Content-Length`, which the receiver sets.
        public var headers: [(name: String, value: String)]
        /// The response body.
        public var body: [UInt8]
        /// Whether to answer at all; see ``silence``.
        public var answers: Bool

        public init(status: Int = 200, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
            self.status = status
            self.headers = headers
            self.body = body
            self.answers = true
        }

        /// Records the request and never answers, so the sender times out.
        public static var silence: Reply {
            var reply = Reply()
            reply.answers = false
            return reply
        }
    }

    /// The port the receiver listens on.
    public let port: Int
    private let server: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    private let log: Log
    private let serving: Task<Void, Never>

    /// `http://127.0.0.1:<port>`.
    public var url: String { "http://127.0.0.1:\(port)" }

    /// `url` followed by `path`, which should start with `/`.
    public func url(path: String) -> String { url + path }

    /// Starts a receiver that answers request number `n` (from 0) with `reply(request, n)`.
    public static func start(reply: @escaping @Sendable (Request, Int) -> Reply) async throws -> WebhookReceiver {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        guard let port = server.channel.localAddress?.port else {
            try await server.channel.close()
            throw ReceiverError("the server channel has no local port")
        }
        return WebhookReceiver(server: server, port: port, log: Log(reply: reply))
    }

    /// Starts a receiver that answers the first requests with `statuses`, in order, and every later one with `final`.
    public static func start(statuses: [Int] = [], then final: Int = 200) async throws -> WebhookReceiver {
        try await start { _, index in Reply(status: index < statuses.count ? statuses[index] : final) }
    }

    private init(
        server: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>, port: Int,
        log: Log
    ) {
        self.server = server
        self.port = port
        self.log = log
        serving = Task {
            await withDiscardingTaskGroup { group in
                do {
                    try await server.executeThenClose { connections in
                        for try await connection in connections {
                            group.addTask { await Self.serve(connection, log: log) }
                        }
                    }
                } catch {
                    // Shutdown cancels the accept loop; nothing to report.
                }
            }
        }
    }

    /// The next request not yet returned by `next()`, in arrival order, waiting for
    /// one to arrive; `nil` once the receiver is shut down or the waiting task is cancelled.
    public func next() async -> Request? {
        await log.next()
    }

    /// Every request received so far, in arrival order.
    public func received() async -> [Request] {
        await log.all
    }

    /// Stops listening, closes every connection and ends ``next()``.
    public func shutdown() async throws {
        serving.cancel()
        await serving.value
        await log.finish()
    }

    /// Answers the requests of one connection until it closes.
    private static func serve(
        _ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, log: Log
    ) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead? = nil
            var body: [UInt8] = []
            for try await part in inbound {
                switch part {
                case .head(let received):
                    head = received
                    body = []
                case .body(let buffer):
                    body += buffer.readableBytesView
                case .end:
                    guard let received = head else { continue }
                    let request = Request(
                        method: received.method.rawValue, path: received.uri,
                        headers: received.headers.map { ($0.name, $0.value) }, body: body)
                    let reply = await log.record(request)
                    guard reply.answers else { continue }
                    var headers = HTTPHeaders(reply.headers)
                    headers.replaceOrAdd(name: "Content-Length", value: String(reply.body.count))
                    let status = HTTPResponseStatus(statusCode: reply.status)
                    try await outbound.write(
                        .head(HTTPResponseHead(version: received.version, status: status, headers: headers)))
                    if !reply.body.isEmpty {
                        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: reply.body))))
                    }
                    try await outbound.write(.end(nil))
                }
            }
        }
    }
}

extension WebhookReceiver {
    /// The receiver's records: every request, the script, and the queue ``next()`` reads.
    private actor Log {
        let reply: @Sendable (Request, Int) -> Reply
        private(set) var all: [Request] = []
        /// How many of `all` `next()` has returned.
        private var cursor = 0
        private var waiters: [(id: Int, continuation: CheckedContinuation<Request?, Never>)] = []
        private var waiterCount = 0
        private var finished = false

        init(reply: @escaping @Sendable (Request, Int) -> Reply) {
            self.reply = reply
        }

        func record(_ request: Request) -> Reply {
            let index = all.count
            all.append(request)
            if !waiters.isEmpty {
                cursor += 1
                waiters.removeFirst().continuation.resume(returning: request)
            }
            return reply(request, index)
        }

        func next() async -> Request? {
            if cursor < all.count {
                cursor += 1
                return all[cursor - 1]
            }
            if finished || Task.isCancelled { return nil }
            let id = waiterCount
            waiterCount += 1
            return await withTaskCancellationHandler {
                await withCheckedContinuation { waiters.append((id, $0)) }
            } onCancel: {
                Task { await self.cancel(id) }
            }
        }

        private func cancel(_ id: Int) {
            guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
            waiters.remove(at: index).continuation.resume(returning: nil)
        }

        func finish() {
            finished = true
            for waiter in waiters { waiter.continuation.resume(returning: nil) }
            waiters = []
        }
    }

    /// The receiver could not start.
    public struct ReceiverError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}

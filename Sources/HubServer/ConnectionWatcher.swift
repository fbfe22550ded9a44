import HTTPTypes
import HubCore
import HubEngine
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// One per connection, in the channel's pipeline after the HTTP codec. It does two things
/// Hummingbird leaves undone:
///
/// - It notices the client going away (end of input, or the connection closing) while a
///   handler still runs. Hummingbird does not cancel a handler then, so a long-polling
///   `claim-task` would go on waiting and take a task for a client that can no longer
///   receive it; the claim's lease would lapse only after three heartbeat intervals, its
///   attempt counted. ``HubRouter`` cancels such a wait through ``ClientDeparture``.
/// - It answers `Expect: 100-continue` (RFC 9110 §10.1.1) with `100 Continue` as the head
///   arrives, instead of leaving the client to wait out its own timeout (curl's is a
///   second) before it sends the body.
/// - It answers a request that cannot be read as HTTP (a malformed request line, headers
///   past the size limit, a Content-Length beside chunked framing) with the API's JSON
///   error envelope, as NIO's `HTTPServerProtocolErrorHandler` would with an empty 400,
///   and closes the connection: what follows on it cannot be framed. Pipelined behind a
///   request still being answered, it is answered after that one.
/// - It refuses at once (413) a request that announces a body over `max_body_size` and
///   asks, with `Expect: 100-continue`, whether to send it.
///
/// What it answers is counted in `/metrics` as the router's answers are (``answered``): those
/// requests never reach the router's middleware.
///
/// What it answers it closes gracefully: its side first (the client reads the answer,
/// then end of file), reading and dropping what the client still sends until the client
/// closes too, or ``lingering`` has passed. A socket closed with bytes it has not read
/// resets the connection, and a reset can destroy the answer before the client reads it:
/// a header of a megabyte was answered with a reset.
final class ConnectionWatcher: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let departure = ClientDeparture()
    /// The body of an answer given here: the error envelope of `error` in the name of the
    /// request's path (its operation and workflow; `nil` when no request could be read).
    private let envelope: @Sendable (HubError, _ path: String?) -> [UInt8]
    /// Told of each answer given here: its status, and the request's method and path when the
    /// head could be read.
    private let answered: @Sendable (HTTPResponse.Status, HTTPRequest.Method?, _ path: String?) -> Void
    /// The server's `max_body_size`: a request that announces more and asks to be told
    /// whether to send it is refused at once.
    private let maxBodySize: Int
    /// Whether a request has arrived whose response has not ended.
    private var requestInFlight = false
    /// Whether that request's body has all arrived: a parse error then is about the next
    /// request, answered once the current response has ended; before, it is the handler's
    /// (it is reading the body).
    private var requestComplete = false
    /// A parse error waiting for the response in flight to end.
    private var deferred: (any Error)?
    /// Set once this handler has answered and is closing: what arrives is dropped.
    private var closing = false
    /// Ends the connection once it has lingered long enough after an answer given here.
    private var closeTimer: Scheduled<Void>?
    /// How long a connection answered here goes on reading (and dropping) what its client
    /// sends before it is closed. Defaults to 5 seconds.
    static let lingering: TimeAmount = .seconds(5)

    init(
        maxBodySize: Int = .max,
        answered: @escaping @Sendable (HTTPResponse.Status, HTTPRequest.Method?, _ path: String?) -> Void = { _, _, _ in
        },
        envelope: @escaping @Sendable (HubError, _ path: String?) -> [UInt8]
    ) {
        self.maxBodySize = maxBodySize
        self.answered = answered
        self.envelope = envelope
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            requestInFlight = true
            requestComplete = false
            if head.headerFields[.expect]?.lowercased() == "100-continue" {
                if let length = head.headerFields[.contentLength].flatMap({ Int($0) }), length > maxBodySize {
                    // RFC 9110 §10.1.1: the final answer instead of 100 when the headers decide it.
                    answer(
                        context: context, status: .contentTooLarge, method: head.method, path: head.path,
                        HubError(
                            .payloadTooLarge, "The request body is larger than \(maxBodySize) bytes",
                            details: "It announced \(length) bytes; the server's max_body_size is \(maxBodySize).",
                            suggestions: ["Send a smaller body, or raise max_body_size in the configuration"]))
                    return
                }
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
            }
        case .end:
            requestComplete = true
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        requestInFlight = false
        context.write(data, promise: promise)
        if let error = deferred {
            deferred = nil
            refuse(context: context, error: error)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Lingering: go on reading what the client sends, so that nothing is left unread.
        if closing { context.read() }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent {
            departure.happened()
            // The client has closed its side after an answer given here: nothing is left to read.
            if closing { context.close(promise: nil) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        departure.happened()
        closeTimer?.cancel()
        closeTimer = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Answered and closing: what still arrives cannot be read (the decoder has failed and
        // reports each read), and must not end the connection before the client has read.
        if closing { return }
        if error is HTTPParserError || error is HTTP1TypeConversionError {
            if !requestInFlight {
                refuse(context: context, error: error)
                return
            }
            if requestComplete {
                // Pipelined after a request still being answered: answer it after that one.
                closing = true
                deferred = error
                return
            }
        }
        departure.happened()
        context.fireErrorCaught(error)
    }

    private func refuse(context: ChannelHandlerContext, error: any Error) {
        guard (error as? HTTPParserError) != .headerOverflow else {
            // 431 (RFC 6585 §5), the specific status of a too large request, with its code.
            answer(
                context: context, status: .requestHeaderFieldsTooLarge,
                HubError(
                    .payloadTooLarge, "The request's headers are larger than the server reads",
                    details: "Headers are limited to 80 KiB in all; nothing was run and the connection is closed.",
                    suggestions: ["Send smaller headers: parameters go in the JSON body, up to max_body_size"]))
            return
        }
        answer(
            context: context, status: .badRequest,
            HubError(
                .invalidArguments, "The request is not valid HTTP/1.1",
                details: "It could not be parsed (\(error)); nothing was run and the connection is closed.",
                suggestions: ["Send a well-formed HTTP/1.1 request; see GET /openapi.json"]))
    }

    /// Writes `error`'s envelope, in the name of the request at `path`, with `status` and closes
    /// the connection.
    private func answer(
        context: ChannelHandlerContext, status: HTTPResponse.Status, method: HTTPRequest.Method? = nil,
        path: String? = nil, _ error: HubError
    ) {
        closing = true
        answered(status, method, path)
        let body = envelope(error, path)
        var buffer = context.channel.allocator.buffer(capacity: body.count + 1)
        buffer.writeBytes(body)
        buffer.writeInteger(UInt8(0x0A))
        let head = HTTPResponse(
            status: status,
            headerFields: [
                .contentType: "application/json", .contentLength: String(buffer.readableBytes), .connection: "close",
            ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(buffer)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            // Our side only: the client reads the answer and end of file, and what it still
            // sends is read and dropped (see the type's documentation).
            let halfClosed = channel.eventLoop.makePromise(of: Void.self)
            halfClosed.futureResult.whenFailure { _ in channel.close(promise: nil) }
            channel.close(mode: .output, promise: halfClosed)
        }
        closeTimer = context.eventLoop.scheduleTask(in: Self.lingering) { channel.close(promise: nil) }
        context.read()
    }
}

/// The router's request context: Hummingbird's basic one, plus the connection's channel,
/// whose ``ConnectionWatcher`` tells a long poll when its client has gone.
public struct HubRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// The connection's ``ClientDeparture``; `nil` when it has no watcher (the router's test
    /// client, whose channel has no HTTP pipeline).
    func departure() async -> ClientDeparture? {
        try? await channel.pipeline.handler(type: ConnectionWatcher.self).map(\.departure).get()
    }
}

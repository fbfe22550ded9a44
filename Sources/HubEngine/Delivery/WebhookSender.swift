import AsyncHTTPClient
import CompressNIO
import HubCore
import NIOCore

/// POSTs webhook bodies (§10 delivery) through one shared AsyncHTTPClient `HTTPClient`.
///
/// Every request carries `Content-Type: application/json`, `User-Agent:
/// coordination-hub` and `X-Hub-Delivery`; with a secret, `X-Hub-Signature-256`
/// over the bytes on the wire; with `gzip`, a gzip body and `Content-Encoding: gzip`.
/// Redirects are never followed (one could lead outside the allowlist), and every
/// URL is checked against the allowlist again at send time, since the
/// configuration may have changed since the subscription was made.
///
/// The allowlist judges host names as written: a listed name that resolves to a
/// private or metadata address is still connected to, because AsyncHTTPClient has
/// no hook to vet resolved addresses (its `dnsOverride` is per client, not per request).
///
/// Call ``shutdown()`` once done; the client must not be dropped while running.
public final class WebhookSender: Sendable {
    /// The `User-Agent` every request carries.
    public static let userAgent = "coordination-hub"
    /// The header naming the delivery, so a receiver can drop repeats of a retried delivery.
    public static let deliveryHeader = "X-Hub-Delivery"
    /// The most response-body bytes read (and discarded) per request; the rest is not read.
    public static let responseBodyLimit = 16 * 1024
    /// Headers the sender sets itself; extra headers with these names are ignored.
    public static let reservedHeaders: Set<String> = [
        "content-type", "content-encoding", "content-length", "transfer-encoding", "host", "connection",
        "user-agent", "x-hub-delivery", "x-hub-signature-256",
    ]

    private let client: HTTPClient
    private let allowlist: WebhookAllowlist

    /// A sender on `eventLoopGroup` (AsyncHTTPClient's shared group by default).
    ///
    /// - Parameters:
    ///   - allowlist: Which URLs may be posted to; refused URLs fail without a connection. Defaults to loopback only.
    ///   - connectTimeout: The longest wait for a connection. Defaults to 10 seconds.
    public init(
        allowlist: WebhookAllowlist = WebhookAllowlist(),
        eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup,
        connectTimeout: Duration = .seconds(10)
    ) {
        self.allowlist = allowlist
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: Self.timeAmount(connectTimeout)),
            decompression: .disabled)
        configuration.httpVersion = .automatic
        // A refused connection fails the attempt at once; the subscription's retry policy decides what follows.
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroup: eventLoopGroup, configuration: configuration)
    }

    /// POSTs `body` to `url` once and reports how it went; never throws.
    ///
    /// - Parameters:
    ///   - url: An `http`/`https` URL the allowlist allows; it is sent in its normalized form.
    ///   - body: The JSON document, uncompressed.
    ///   - deliveryID: The `X-Hub-Delivery` value, the same on every retry of one delivery.
    ///   - secret: When given, the body as sent is signed into `X-Hub-Signature-256`.
    ///   - gzip: Whether to gzip the body and set `Content-Encoding: gzip`.
    ///   - timeout: The longest the whole attempt may take, from connecting to reading the response.
    ///   - extra: More headers; those in ``reservedHeaders`` are ignored.
    public func post(
        url: String, body: [UInt8], deliveryID: String, secret: String? = nil, gzip: Bool = false,
        timeout: Duration = .seconds(10), headers extra: [(name: String, value: String)] = []
    ) async -> WebhookAttempt {
        await postMeasured(
            url: url, body: body, deliveryID: deliveryID, secret: secret, gzip: gzip, timeout: timeout, headers: extra
        ).attempt
    }

    /// ``post(url:body:deliveryID:secret:gzip:timeout:headers:)``, also answering the bytes
    /// of the body as sent (after gzip), for the delivery statistics' compression ratio.
    public func postMeasured(
        url: String, body: [UInt8], deliveryID: String, secret: String? = nil, gzip: Bool = false,
        timeout: Duration = .seconds(10), headers extra: [(name: String, value: String)] = []
    ) async -> (attempt: WebhookAttempt, wireBytes: Int) {
        let started = ContinuousClock.now
        let target: WebhookURL
        do throws(HubError) {
            target = try allowlist.check(url)
        } catch {
            return (.failed(status: nil, error: error.description), 0)
        }
        var wire = body
        if gzip {
            var buffer = ByteBuffer(bytes: body)
            do {
                var compressed = try buffer.compress(with: .gzip())
                wire = compressed.readBytes(length: compressed.readableBytes) ?? []
            } catch {
                return (.failed(status: nil, error: "gzip compression failed: \(error)"), 0)
            }
        }
        return (
            await send(
                wire, to: target, deliveryID: deliveryID, secret: secret, gzip: gzip, timeout: timeout,
                extra: extra, started: started), wire.count
        )
    }

    private func send(
        _ wire: [UInt8], to target: WebhookURL, deliveryID: String, secret: String?, gzip: Bool, timeout: Duration,
        extra: [(name: String, value: String)], started: ContinuousClock.Instant
    ) async -> WebhookAttempt {
        var request = HTTPClientRequest(url: target.description)
        request.method = .POST
        for header in extra where !Self.reservedHeaders.contains(header.name.lowercased()) {
            request.headers.add(name: header.name, value: header.value)
        }
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: Self.userAgent)
        request.headers.add(name: Self.deliveryHeader, value: deliveryID)
        if gzip { request.headers.add(name: "Content-Encoding", value: "gzip") }
        if let secret {
            request.headers.add(
                name: WebhookSignature.headerName, value: WebhookSignature.header(secret: secret, body: wire))
        }
        request.body = .bytes(ByteBuffer(bytes: wire))

        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: Self.timeAmount(timeout))
        } catch {
            return .failed(status: nil, error: Self.describe(error, host: target.host, timeout: timeout))
        }
        let status = Int(response.status.code)
        let kept = await Self.drain(response.body, until: started + timeout)
        if (200..<300).contains(status) { return .delivered(status: status) }
        var message = "\(target.host) answered HTTP \(status)"
        if (300..<400).contains(status) { message += " (redirects are not followed)" }
        let excerpt = Self.printable(kept)
        if !excerpt.isEmpty { message += ": \(excerpt)" }
        return .failed(status: status, error: message)
    }

    /// Closes the connections and stops the client; calling it again does nothing.
    public func shutdown() async throws {
        do {
            try await client.shutdown()
        } catch let error as HTTPClientError where error == .alreadyShutdown {
            return
        }
    }

    /// Reads up to ``responseBodyLimit`` bytes of a response body, until `deadline`;
    /// returns what it read. Reading stops early so a large or endless body costs nothing.
    private static func drain(_ body: HTTPClientResponse.Body, until deadline: ContinuousClock.Instant) async
        -> [UInt8]
    {
        await withTaskGroup(of: [UInt8]?.self) { group in
            group.addTask {
                var kept: [UInt8] = []
                do {
                    for try await chunk in body {
                        kept += chunk.readableBytesView.prefix(responseBodyLimit - kept.count)
                        if kept.count >= responseBodyLimit { break }
                    }
                } catch {
                    // A body cut short still leaves the status, which is what counts.
                }
                return kept
            }
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? []
        }
    }

    /// A failure without a response, for a person to read.
    private static func describe(_ error: any Error, host: String, timeout: Duration) -> String {
        if let error = error as? HTTPClientError {
            if error == .deadlineExceeded || error == .readTimeout || error == .writeTimeout {
                return "no answer from \(host) within \(timeout)"
            }
            if error == .connectTimeout {
                return "could not connect to \(host) in time"
            }
        }
        return "could not deliver to \(host): \(String(describing: error).prefix(300))"
    }

    /// The first 200 characters of a response body, printable ASCII only.
    private static func printable(_ bytes: [UInt8]) -> String {
        let shown = bytes.prefix(200).map { (0x20..<0x7F).contains($0) ? $0 : UInt8(ascii: " ") }
        return String(decoding: shown, as: UTF8.self).trimmingSpaces()
    }

    /// A duration as NIO's `TimeAmount`, between 1 ms and 1 day.
    private static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        let clamped = min(max(seconds, 0), 86_400)
        let nanoseconds = clamped * 1_000_000_000 + attoseconds / 1_000_000_000
        return .nanoseconds(max(nanoseconds, 1_000_000))
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var text = Substring(self)
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return String(text)
    }
}

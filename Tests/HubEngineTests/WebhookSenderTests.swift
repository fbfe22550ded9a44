import CompressNIO
import Crypto
import HubCore
import HubEngine
import HubTesting
import NIOCore
import Testing

@Suite(.timeLimit(.minutes(1))) struct WebhookSenderTests {
    static let json = Array(#"{"event_type":"task_completed","sequence":7,"data":{"task_id":"t1"}}"#.utf8)

    /// Runs `body` with a sender and `receiver`, shutting both down however it ends.
    func with(
        _ receiver: WebhookReceiver, allowlist: WebhookAllowlist = WebhookAllowlist(),
        _ body: (WebhookSender) async throws -> Void
    ) async throws {
        let sender = WebhookSender(allowlist: allowlist)
        do {
            try await body(sender)
        } catch {
            try? await sender.shutdown()
            try? await receiver.shutdown()
            throw error
        }
        try await sender.shutdown()
        try await receiver.shutdown()
    }

    /// The HMAC computed here, apart from the code under test.
    static func expectedSignature(secret: String, body: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + mac.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    @Test func aDeliveryCarriesTheContractHeaders() async throws {
        let receiver = try await WebhookReceiver.start()
        try await with(receiver) { sender in
            let attempt = await sender.post(
                url: receiver.url(path: "/hooks/a?x=1"), body: Self.json, deliveryID: "dlv_1",
                headers: [("X-Subscription", "sub_1"), ("User-Agent", "spoofed"), ("X-Hub-Signature-256", "sha256=0")])
            #expect(attempt == .delivered(status: 200))
            let request = try #require(await receiver.next())
            #expect(request.method == "POST")
            #expect(request.path == "/hooks/a?x=1")
            #expect(request.header("content-type") == "application/json")
            #expect(request.header("User-Agent") == "coordination-hub")
            #expect(request.headers.filter { $0.name.lowercased() == "user-agent" }.count == 1)
            #expect(request.header("X-Hub-Delivery") == "dlv_1")
            #expect(request.header("X-Subscription") == "sub_1")
            #expect(request.header("Content-Encoding") == nil)
            #expect(request.header("X-Hub-Signature-256") == nil)
            #expect(request.body == Self.json)
        }
    }

    @Test func theSignatureVerifiesOverTheBody() async throws {
        let receiver = try await WebhookReceiver.start()
        try await with(receiver) { sender in
            let attempt = await sender.post(
                url: receiver.url, body: Self.json, deliveryID: "dlv_2", secret: "s3cret")
            #expect(attempt.isDelivered)
            let request = try #require(await receiver.next())
            #expect(
                request.header("X-Hub-Signature-256") == Self.expectedSignature(secret: "s3cret", body: request.body))
            #expect(
                request.header("X-Hub-Signature-256") != Self.expectedSignature(secret: "other", body: request.body))
            #expect(request.body == Self.json)
        }
    }

    @Test func aGzipBodyDecodesBackToTheJSONAndItsSignatureCoversTheCompressedBytes() async throws {
        let receiver = try await WebhookReceiver.start()
        try await with(receiver) { sender in
            let attempt = await sender.post(
                url: receiver.url, body: Self.json, deliveryID: "dlv_3", secret: "s3cret", gzip: true)
            #expect(attempt.isDelivered)
            let request = try #require(await receiver.next())
            #expect(request.header("Content-Encoding") == "gzip")
            #expect(request.body.starts(with: [0x1F, 0x8B]))
            var buffer = ByteBuffer(bytes: request.body)
            var decoded = try buffer.decompress(with: .gzip(), maxSize: 1 << 20)
            #expect(decoded.readBytes(length: decoded.readableBytes) == Self.json)
            #expect(
                request.header("X-Hub-Signature-256") == Self.expectedSignature(secret: "s3cret", body: request.body))
            #expect(request.header("X-Hub-Signature-256") != Self.expectedSignature(secret: "s3cret", body: Self.json))
        }
    }

    @Test func a503IsAFailureWithItsStatusAndTheNextAttemptCanSucceed() async throws {
        let receiver = try await WebhookReceiver.start(statuses: [503, 503], then: 204)
        try await with(receiver) { sender in
            var attempts: [WebhookAttempt] = []
            for _ in 0..<3 {
                attempts.append(await sender.post(url: receiver.url, body: Self.json, deliveryID: "dlv_4"))
            }
            #expect(attempts.map(\.status) == [503, 503, 204])
            guard case .failed(let status, let error) = attempts[0] else {
                Issue.record("a 503 was not a failure: \(attempts[0])")
                return
            }
            #expect(status == 503)
            #expect(error.contains("503"))
            #expect(attempts[2] == .delivered(status: 204))
            #expect(await receiver.received().count == 3)
        }
    }

    @Test func aLargeErrorBodyIsCutShortInTheMessage() async throws {
        let receiver = try await WebhookReceiver.start { _, _ in
            .init(
                status: 500, body: Array("database is down ".utf8) + Array(repeating: UInt8(ascii: "x"), count: 1 << 20)
            )
        }
        try await with(receiver) { sender in
            let attempt = await sender.post(url: receiver.url, body: Self.json, deliveryID: "dlv_5")
            guard case .failed(500, let error) = attempt else {
                Issue.record("expected a failure with status 500, got \(attempt)")
                return
            }
            #expect(error.contains("database is down"))
            #expect(error.utf8.count < 400)
        }
    }

    @Test func aClosedPortIsAFailedAttemptWithAnError() async throws {
        let closed = try await WebhookReceiver.start()
        let url = closed.url
        try await closed.shutdown()
        let sender = WebhookSender()
        let attempt = await sender.post(url: url, body: Self.json, deliveryID: "dlv_6", timeout: .seconds(30))
        try await sender.shutdown()
        guard case .failed(nil, let error) = attempt else {
            Issue.record("expected a failure without a status, got \(attempt)")
            return
        }
        #expect(error.contains("127.0.0.1"))
        #expect(error.lowercased().contains("refused"))
    }

    @Test func redirectsAreNotFollowed() async throws {
        let elsewhere = try await WebhookReceiver.start()
        let redirecting = try await WebhookReceiver.start { _, _ in
            .init(status: 307, headers: [("Location", elsewhere.url(path: "/stolen"))])
        }
        try await with(redirecting) { sender in
            let attempt = await sender.post(url: redirecting.url, body: Self.json, deliveryID: "dlv_7")
            #expect(attempt.status == 307)
            #expect(!attempt.isDelivered)
            #expect(await redirecting.received().count == 1)
        }
        // The sender returned, so a followed redirect would already have arrived.
        #expect(await elsewhere.received().isEmpty)
        try await elsewhere.shutdown()
    }

    @Test func aReceiverThatNeverAnswersTimesOut() async throws {
        let receiver = try await WebhookReceiver.start { _, _ in .silence }
        try await with(receiver) { sender in
            let attempt = await sender.post(
                url: receiver.url, body: Self.json, deliveryID: "dlv_8", timeout: .milliseconds(200))
            guard case .failed(nil, let error) = attempt else {
                Issue.record("expected a failure without a status, got \(attempt)")
                return
            }
            #expect(error.contains("no answer"))
            #expect(await receiver.next()?.header("X-Hub-Delivery") == "dlv_8")
        }
    }

    @Test func aURLTheAllowlistRefusesIsNeverContacted() async throws {
        let receiver = try await WebhookReceiver.start()
        try await with(receiver, allowlist: try WebhookAllowlist(["hooks.example.com"])) { sender in
            let attempt = await sender.post(url: receiver.url, body: Self.json, deliveryID: "dlv_9")
            guard case .failed(nil, let error) = attempt else {
                Issue.record("expected a refusal, got \(attempt)")
                return
            }
            #expect(error.contains("URL_NOT_ALLOWED"))
            #expect(await receiver.received().isEmpty)
        }
    }

    @Test func aHeaderValueWithALineBreakIsRefusedBeforeSending() async throws {
        let receiver = try await WebhookReceiver.start()
        try await with(receiver) { sender in
            let attempt = await sender.post(
                url: receiver.url, body: Self.json, deliveryID: "dlv_10\r\nX-Injected: 1")
            #expect(attempt.status == nil)
            #expect(!attempt.isDelivered)
            #expect(await receiver.received().isEmpty)
        }
    }

    @Test func shuttingDownTwiceIsHarmless() async throws {
        let sender = WebhookSender()
        try await sender.shutdown()
        try await sender.shutdown()
    }
}

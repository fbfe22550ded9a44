import HubCore
import Testing

@Suite struct WebhookSignatureTests {
    @Test func theSignatureIsTheHexHMACSHA256OfTheBody() {
        // RFC 4231, test case 2.
        let header = WebhookSignature.header(secret: "Jefe", body: Array("what do ya want for nothing?".utf8))
        #expect(header == "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(WebhookSignature.headerName == "X-Hub-Signature-256")
    }

    @Test func anotherSecretOrBodyGivesAnotherSignature() {
        let body = Array(#"{"a":1}"#.utf8)
        let signature = WebhookSignature.header(secret: "s", body: body)
        #expect(signature != WebhookSignature.header(secret: "t", body: body))
        #expect(signature != WebhookSignature.header(secret: "s", body: body + [0x20]))
    }
}

import Crypto

/// The `X-Hub-Signature-256` header a webhook carries when its subscription has a
/// secret (§10): `sha256=` and the lowercase hex HMAC-SHA256 of the body as sent.
public enum WebhookSignature {
    /// The header's name.
    public static let headerName = "X-Hub-Signature-256"

    /// `sha256=<hex>` for `body` (the bytes on the wire: compressed when the body is) under `secret`'s UTF-8 bytes.
    public static func header(secret: String, body: [UInt8]) -> String {
        let key = SymmetricKey(data: Array(secret.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: key)
        return "sha256=" + hex(Array(mac))
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

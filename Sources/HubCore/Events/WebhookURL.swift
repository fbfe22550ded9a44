/// A webhook URL read strictly: `http` or `https`, a host, an optional port, and a
/// path with query; no user info, no fragment on the wire.
///
/// The parser accepts only RFC 3986 characters (no spaces, backslashes, non-ASCII
/// or other characters that URL parsers disagree about), so the host checked here
/// is the host an HTTP client connects to. Send ``description``, the normalized
/// form, rather than the text as given.
public struct WebhookURL: Sendable, Hashable, CustomStringConvertible {
    /// `http` or `https`, lowercase.
    public let scheme: String
    /// The host, normalized: a lowercase name without a trailing dot, a dotted-quad
    /// IPv4 address, or an IPv6 address in RFC 5952 form without brackets.
    public let host: String
    /// The port when one is written. Defaults to the scheme's (80 or 443) when `nil`.
    public let port: Int?
    /// The path and query, starting with `/`. The fragment is dropped: it never goes on the wire.
    public let target: String
    /// The host as an IP address, when it is one.
    let address: IPAddress?

    /// Longest URL accepted, in bytes.
    public static let maximumLength = 4096

    /// Reads `text`. Throws `URL_NOT_ALLOWED` for anything but an `http`/`https`
    /// URL with a host and no user info, and for numeric hosts in a form other
    /// than canonical dotted-quad IPv4 or bracketed IPv6.
    public init(parsing text: String) throws(HubError) {
        guard text.utf8.count <= Self.maximumLength else {
            throw .urlNotAllowed(host: nil, "the URL is longer than \(Self.maximumLength) bytes")
        }
        guard text.unicodeScalars.allSatisfy(Self.isURLCharacter) else {
            throw .urlNotAllowed(
                host: nil,
                "the URL contains a character outside RFC 3986 (space, backslash, quote, non-ASCII…); "
                    + "percent-encode it in the path or query")
        }
        guard let colon = text.firstIndex(of: ":") else {
            throw .urlNotAllowed(host: nil, "the URL has no scheme; write http:// or https://")
        }
        let scheme = text[..<colon].lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw .urlNotAllowed(
                host: nil, "the scheme '\(scheme.prefix(32))' is not allowed; webhooks use http:// or https://")
        }
        let afterScheme = text[text.index(after: colon)...]
        guard afterScheme.hasPrefix("//") else {
            throw .urlNotAllowed(host: nil, "the URL has no host; write \(scheme)://host/path")
        }
        let rest = afterScheme.dropFirst(2)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var target = String(rest[authorityEnd...])
        if let hash = target.firstIndex(of: "#") { target = String(target[..<hash]) }
        if !target.hasPrefix("/") { target = "/" + target }
        guard !authority.contains("@") else {
            throw .urlNotAllowed(
                host: nil, "the URL carries user info (user:password@); put credentials in a header or the secret")
        }
        guard !target.contains("["), !target.contains("]"), Self.percentEscapesAreValid(target) else {
            throw .urlNotAllowed(host: nil, "the URL's path or query is malformed (stray '[', ']' or '%')")
        }
        let (hostText, portText) = try Self.splitAuthority(authority)
        let (host, address) = try Self.normalizeHost(hostText, bracketed: hostText.hasPrefix("["))
        var port: Int? = nil
        if let portText {
            guard (1...5).contains(portText.count), portText.allSatisfy(\.isASCIIDigit), let value = Int(portText),
                (1...65535).contains(value)
            else {
                throw .urlNotAllowed(host: host, "the port '\(portText.prefix(16))' is not a number from 1 to 65535")
            }
            port = value
        }
        self.scheme = scheme
        self.host = host
        self.port = port
        self.target = target
        self.address = address
    }

    /// The normalized URL, as it should be sent.
    public var description: String {
        let hostPart = address?.family == .v6 ? "[\(host)]" : host
        let portPart = port.map { ":\($0)" } ?? ""
        return "\(scheme)://\(hostPart)\(portPart)\(target)"
    }

    /// `host[:port]` or `[v6][:port]` → the host text (brackets kept) and the port text.
    private static func splitAuthority(_ authority: Substring) throws(HubError) -> (Substring, Substring?) {
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw .urlNotAllowed(host: nil, "the URL's IPv6 host has no closing ']'")
            }
            let host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if after.isEmpty { return (host, nil) }
            guard after.hasPrefix(":") else {
                throw .urlNotAllowed(host: nil, "the URL has text after its IPv6 host")
            }
            return (host, after.dropFirst())
        }
        let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2 else {
            throw .urlNotAllowed(host: nil, "the URL's host has more than one ':'; write IPv6 hosts in brackets")
        }
        return (parts[0], parts.count == 2 ? parts[1] : nil)
    }

    /// The normalized host and, for an address, its value. Throws for an empty,
    /// malformed or non-canonical numeric host.
    static func normalizeHost(_ raw: Substring, bracketed: Bool) throws(HubError) -> (String, IPAddress?) {
        let shown = String(raw.prefix(255))
        if bracketed {
            let inner = raw.dropFirst().dropLast()
            guard raw.hasSuffix("]"), let address = IPAddress(inner.lowercased()), address.family == .v6 else {
                throw .urlNotAllowed(
                    host: shown, "'\(shown)' is not an IPv6 address (zones such as %eth0 are not accepted)")
            }
            return (address.description, address)
        }
        guard !raw.isEmpty else { throw .urlNotAllowed(host: nil, "the URL has no host") }
        var name = raw.lowercased()
        if let v4 = IPAddress.parseIPv4(name) {
            let address = IPAddress(v4: v4)
            return (address.description, address)
        }
        if endsInNumber(name) {
            throw .urlNotAllowed(
                host: shown,
                "'\(shown)' is a numeric host in a non-canonical form (decimal, octal, hex, short or with a "
                    + "trailing dot); write an IPv4 address as four decimal parts, e.g. 127.0.0.1")
        }
        if name.hasSuffix(".") { name.removeLast() }
        guard isHostName(name) else {
            throw .urlNotAllowed(
                host: shown,
                "'\(shown)' is not a valid host name (labels of letters, digits, '-' or '_', at most 63 "
                    + "characters each; write international names in their xn-- form)")
        }
        return (name, nil)
    }

    /// Whether a host reads as a number to WHATWG URL parsers and `inet_aton`: its
    /// last label (ignoring one trailing dot) is decimal digits or `0x` hex.
    static func endsInNumber(_ host: String) -> Bool {
        var labels = host.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count > 1, labels.last?.isEmpty == true { labels.removeLast() }
        guard let last = labels.last, !last.isEmpty else { return false }
        if last.allSatisfy(\.isASCIIDigit) { return true }
        let lower = last.lowercased()
        return lower.hasPrefix("0x") && lower.dropFirst(2).allSatisfy { $0.isHexDigit && $0.isASCII }
    }

    /// Letters, digits, `-` and `_` in labels of 1–63 characters, 253 at most in all, no trailing dot.
    static func isHostName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.utf8.count)
                && label.unicodeScalars.allSatisfy { $0.isASCII && (Self.isAlphanumeric($0) || $0 == "-" || $0 == "_") }
        }
    }

    private static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }

    /// RFC 3986 unreserved, reserved and `%`.
    private static func isURLCharacter(_ scalar: Unicode.Scalar) -> Bool {
        isAlphanumeric(scalar) || "-._~:/?#[]@!$&'()*+,;=%".unicodeScalars.contains(scalar)
    }

    /// Every `%` starts a two-hex-digit escape.
    private static func percentEscapesAreValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%") {
                guard index + 2 < bytes.count, isHex(bytes[index + 1]), isHex(bytes[index + 2]) else {
                    return false
                }
                index += 3
            } else {
                index += 1
            }
        }
        return true
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }
}

/// Decides whether a webhook URL may be used (§10, §14 `webhook_allowlist`).
///
/// The rules:
/// - the URL is `http` or `https`, has a host and no user info (see ``WebhookURL``);
/// - with an empty allowlist (the default) only loopback is allowed: `localhost`,
///   `127.0.0.0/8` and `::1`;
/// - a non-empty allowlist replaces that default: exactly what it lists is allowed
///   (list `localhost` or `127.0.0.1` to keep loopback);
/// - loopback, private (`10/8`, `172.16/12`, `192.168/16`, `fc00::/7`), link-local
///   (`169.254/16`, `fe80::/10`), unspecified (`0.0.0.0/8`, `::`), other IPv4-compatible
///   IPv6 (`::/96`) and cloud metadata addresses (`169.254.169.254`,
///   `metadata.google.internal`, `fd00:ec2::254`) are allowed only by an entry that
///   names them: the exact host, or a CIDR that lies inside their own range — so
///   `10.0.0.0/8` allows `10.1.2.3`, while `0.0.0.0/0` allows no private address and
///   `169.254.0.0/16` does not allow the metadata address `169.254.169.254`;
/// - any other (public) host is allowed when an entry matches it: its exact name
///   (case-insensitive, a trailing dot ignored), a `*.example.com` wildcard (which
///   matches names below `example.com`, not `example.com` itself), its address, or
///   a CIDR containing it;
/// - IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) are judged as the IPv4
///   address they connect to; numeric hosts in any form but canonical dotted-quad
///   IPv4 (`2130706433`, `0177.0.0.1`, `127.1`, `127.0.0.1.`) are always refused.
///
/// A host name is checked as written: nothing here resolves it. A listed name
/// that resolves to a private or metadata address at send time is connected to
/// anyway — AsyncHTTPClient offers no hook to vet the resolved address, so only
/// list names whose DNS you trust.
public struct WebhookAllowlist: Sendable, Equatable {
    /// The entries as given.
    public let entries: [String]
    private let names: Set<String>
    private let suffixes: [String]
    private let networks: [IPNetwork]

    /// Reads allowlist entries: host names, `*.example.com` wildcards, IPv4/IPv6
    /// addresses and CIDRs. Throws `INVALID_PARAMETERS` naming the first entry
    /// that is none of these.
    public init(_ entries: [String]) throws(HubError) {
        var names: Set<String> = []
        var suffixes: [String] = []
        var networks: [IPNetwork] = []
        for (index, raw) in entries.enumerated() {
            switch Self.parse(raw) {
            case .success(.name(let name)): names.insert(name)
            case .success(.suffix(let suffix)): suffixes.append(suffix)
            case .success(.network(let network)): networks.append(network)
            case .failure(let problem):
                throw HubError(
                    .invalidParameters,
                    "webhook_allowlist[\(index)] \"\(raw.prefix(80))\" \(problem.text)",
                    details:
                        "Entries are host names, *.example.com wildcards, IP addresses or CIDRs such as 10.0.0.0/8.",
                    context: ["field": .string("webhook_allowlist")])
            }
        }
        self.entries = entries
        self.names = names
        self.suffixes = suffixes
        self.networks = networks
    }

    /// The default, empty allowlist: loopback only.
    public init() {
        entries = []
        names = []
        suffixes = []
        networks = []
    }

    /// The allowlist of a configuration's `webhook_allowlist`.
    public init(configuration: Configuration) throws(HubError) {
        try self.init(configuration.webhookAllowlist)
    }

    /// Problems with allowlist entries, one sentence each; empty when every entry reads.
    public static func problems(in entries: [String]) -> [String] {
        entries.enumerated().compactMap { index, raw in
            guard case .failure(let problem) = parse(raw) else { return nil }
            return "webhook_allowlist[\(index)] \"\(raw.prefix(80))\" \(problem.text)"
        }
    }

    /// The parsed URL when the allowlist allows it. Throws `URL_NOT_ALLOWED` naming
    /// the host and the `webhook_allowlist` entry that would allow it.
    @discardableResult
    public func check(_ url: String) throws(HubError) -> WebhookURL {
        let parsed = try WebhookURL(parsing: url)
        try check(parsed)
        return parsed
    }

    /// Throws `URL_NOT_ALLOWED` unless the allowlist allows the URL's host.
    public func check(_ url: WebhookURL) throws(HubError) {
        let kind: HostKind
        if let address = url.address {
            kind = Self.classify(address.unmapped)
        } else {
            kind = Self.classify(name: url.host)
        }
        if allows(url, kind) { return }
        throw refusal(url, kind)
    }

    /// Whether the allowlist allows `url`; `false` for a malformed URL.
    public func allows(_ url: String) -> Bool {
        (try? check(url)) != nil
    }

    private func allows(_ url: WebhookURL, _ kind: HostKind) -> Bool {
        if entries.isEmpty { return kind.isLoopback }
        guard let address = url.address?.unmapped else {
            if names.contains(url.host) { return true }
            guard kind == .public else { return false }
            return suffixes.contains { url.host.hasSuffix($0) }
        }
        return networks.contains { network in
            guard network.contains(address) else { return false }
            switch kind {
            case .public: return true
            case .special(_, let range): return range.map(network.isWithin) ?? false
            }
        }
    }

    private func refusal(_ url: WebhookURL, _ kind: HostKind) -> HubError {
        let host = url.host
        switch kind {
        case .public:
            var allowWith = [host]
            // A wildcard only over a parent with two labels or more: never suggest "*.com".
            if url.address == nil, let dot = host.firstIndex(of: "."), host[host.index(after: dot)...].contains(".") {
                allowWith.append("*" + host[dot...])
            }
            let why =
                entries.isEmpty
                ? "with an empty webhook_allowlist only loopback hosts are allowed"
                : "no webhook_allowlist entry matches it"
            return .urlNotAllowed(host: host, why, allowWith: allowWith)
        case .special(let category, let range?):
            var allowWith = [url.address?.unmapped.description ?? host]
            if range.prefix < range.address.bitWidth { allowWith.append(range.description) }
            return .urlNotAllowed(
                host: host,
                "it is \(category.label), allowed only when webhook_allowlist names it (the address or a CIDR "
                    + "inside \(range))",
                allowWith: allowWith)
        case .special(let category, nil):
            return .urlNotAllowed(
                host: host, "it is \(category.label), allowed only when webhook_allowlist names it exactly",
                allowWith: [host])
        }
    }
}

extension WebhookAllowlist {
    enum Entry: Equatable {
        case name(String)
        /// `.example.com` for `*.example.com`.
        case suffix(String)
        case network(IPNetwork)
    }

    /// One entry, or why it is not one.
    static func parse(_ raw: String) -> Result<Entry, EntryProblem> {
        let text = raw.trimmingCharactersInSpaces().lowercased()
        guard !text.isEmpty else { return .failure(EntryProblem("is empty")) }
        if let slash = text.firstIndex(of: "/") {
            return parseNetwork(address: text[..<slash], prefix: text[text.index(after: slash)...])
        }
        if text.hasPrefix("*.") {
            var name = String(text.dropFirst(2))
            if name.hasSuffix(".") { name.removeLast() }
            guard WebhookURL.isHostName(name), !WebhookURL.endsInNumber(name) else {
                return .failure(EntryProblem("is not a wildcard over a host name, such as *.example.com"))
            }
            return .success(.suffix("." + name))
        }
        let bare = text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
        if let address = IPAddress(bare) {
            return .success(.network(IPNetwork(single: address.unmapped)))
        }
        if WebhookURL.endsInNumber(text) {
            return .failure(EntryProblem("is a numeric host in a non-canonical form; write IPv4 as a.b.c.d"))
        }
        var name = text
        if name.hasSuffix(".") { name.removeLast() }
        guard WebhookURL.isHostName(name) else {
            return .failure(
                EntryProblem("is not a host name, wildcard, address or CIDR (no scheme, port or path)"))
        }
        return .success(.name(name))
    }

    private static func parseNetwork(address text: Substring, prefix prefixText: Substring) -> Result<
        Entry, EntryProblem
    > {
        let bare = text.hasPrefix("[") && text.hasSuffix("]") ? text.dropFirst().dropLast() : text
        guard let address = IPAddress(bare), (1...3).contains(prefixText.count),
            prefixText.allSatisfy(\.isASCIIDigit), prefixText.count == 1 || prefixText.first != "0",
            let prefix = Int(prefixText), prefix <= address.bitWidth
        else {
            return .failure(EntryProblem("is not a CIDR such as 10.0.0.0/8 or fc00::/7"))
        }
        guard let network = IPNetwork(address, prefix: prefix) else {
            let masked = IPNetwork.mask(address, prefix)
            return .failure(EntryProblem("has host bits set past /\(prefix); did you mean \(masked)/\(prefix)?"))
        }
        // ::ffff:a.b.c.d/n (n ≥ 96) is the IPv4 block a.b.c.d/(n − 96): addresses are judged unmapped.
        if address.family == .v6, prefix >= 96, address.unmapped.family == .v4 {
            return IPNetwork(address.unmapped, prefix: prefix - 96).map { .success(.network($0)) }
                ?? .failure(EntryProblem("is not a CIDR such as 10.0.0.0/8 or fc00::/7"))
        }
        return .success(.network(network))
    }

    struct EntryProblem: Error, Equatable {
        let text: String
        init(_ text: String) { self.text = text }
    }
}

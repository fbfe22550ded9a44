extension WebhookAllowlist {
    /// The kinds of host that only an entry naming them may open.
    enum Category: Equatable, Sendable {
        case loopback
        case `private`
        case linkLocal
        case unspecified
        case reserved
        case metadata

        var label: String {
            switch self {
            case .loopback: "a loopback host"
            case .private: "a private address"
            case .linkLocal: "a link-local address"
            case .unspecified: "an unspecified address"
            case .reserved: "a reserved IPv4-compatible IPv6 address"
            case .metadata: "a cloud metadata host"
            }
        }
    }

    /// What a host is, for the allowlist.
    enum HostKind: Equatable, Sendable {
        case `public`
        /// A non-public host and, for an address, the range it belongs to.
        case special(Category, IPNetwork?)

        var isLoopback: Bool {
            guard case .special(.loopback, _) = self else { return false }
            return true
        }
    }

    /// Non-public ranges, the most specific first: the first that contains an address classifies it.
    static let specialRanges: [(IPNetwork, Category)] = [
        (IPNetwork(masking: IPAddress(v4: 0xA9FE_A9FE), 32), .metadata),  // 169.254.169.254
        (IPNetwork(masking: IPAddress(v4: 0x7F00_0000), 8), .loopback),  // 127.0.0.0/8
        (IPNetwork(masking: IPAddress(v4: 0x0000_0000), 8), .unspecified),  // 0.0.0.0/8
        (IPNetwork(masking: IPAddress(v4: 0x0A00_0000), 8), .private),  // 10.0.0.0/8
        (IPNetwork(masking: IPAddress(v4: 0xAC10_0000), 12), .private),  // 172.16.0.0/12
        (IPNetwork(masking: IPAddress(v4: 0xC0A8_0000), 16), .private),  // 192.168.0.0/16
        (IPNetwork(masking: IPAddress(v4: 0xA9FE_0000), 16), .linkLocal),  // 169.254.0.0/16
        (IPNetwork(masking: IPAddress(v6: 0xFD00_0EC2_0000_0000, 0x254), 128), .metadata),  // fd00:ec2::254
        (IPNetwork(masking: IPAddress(v6: 0, 1), 128), .loopback),  // ::1
        (IPNetwork(masking: IPAddress(v6: 0, 0), 128), .unspecified),  // ::
        (IPNetwork(masking: IPAddress(v6: 0, 0), 96), .reserved),  // ::a.b.c.d, IPv4-compatible
        (IPNetwork(masking: IPAddress(v6: 0xFC00_0000_0000_0000, 0), 7), .private),  // fc00::/7
        (IPNetwork(masking: IPAddress(v6: 0xFE80_0000_0000_0000, 0), 10), .linkLocal),  // fe80::/10
    ]

    /// Host names with a meaning of their own.
    static let specialNames: [String: Category] = [
        "localhost": .loopback,
        "metadata.google.internal": .metadata,
    ]

    /// The kind of an (unmapped) address.
    static func classify(_ address: IPAddress) -> HostKind {
        for (range, category) in specialRanges where range.contains(address) {
            return .special(category, range)
        }
        return .public
    }

    /// The kind of a normalized host name.
    static func classify(name: String) -> HostKind {
        specialNames[name].map { .special($0, nil) } ?? .public
    }
}

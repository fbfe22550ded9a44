import HubCore
import Testing

@Suite struct WebhookAllowlistTests {
    /// URL → allowed by the default (empty) allowlist.
    static let defaults: [(String, Bool)] = [
        // Loopback, in every spelling.
        ("http://localhost/hook", true),
        ("http://LOCALHOST:8080/hook", true),
        ("HTTP://LocalHost/Path", true),
        ("http://localhost./hook", true),
        ("https://localhost", true),
        ("http://127.0.0.1:9000/x?y=1", true),
        ("http://127.255.255.254/", true),
        ("https://[::1]:8443/x", true),
        ("http://[0:0:0:0:0:0:0:1]/", true),
        ("http://[::ffff:127.0.0.1]/", true),
        ("http://[::FFFF:7f00:1]/", true),
        // The fragment is not part of the authority: the host is localhost.
        ("http://localhost#@evil.com/", true),
        // Everything else needs an entry.
        ("http://example.com/", false),
        ("http://10.0.0.1/", false),
        ("http://192.168.1.1/", false),
        ("http://8.8.8.8/", false),
        ("http://[2001:db8::1]/", false),
        // Tricks that look like loopback.
        ("http://127.0.0.1.evil.com/", false),
        ("http://localhost.evil.com/", false),
        ("http://evil.com#@localhost/", false),
        ("http://evil.com?@localhost/", false),
        ("http://evil.com/@localhost", false),
        ("http://[::127.0.0.1]/", false),
        // Non-canonical numeric hosts.
        ("http://2130706433/", false),
        ("http://0177.0.0.1/", false),
        ("http://0x7f.0.0.1/", false),
        ("http://0x7f000001/", false),
        ("http://127.1/", false),
        ("http://127.0.0.1./", false),
        ("http://127.000.000.001/", false),
        ("http://1.2.3.4.5/", false),
        // Unspecified and metadata.
        ("http://0.0.0.0/", false),
        ("http://[::]/", false),
        ("http://169.254.169.254/latest/meta-data/", false),
        ("http://metadata.google.internal/computeMetadata/v1/", false),
        ("http://METADATA.google.internal./", false),
        ("http://[fd00:ec2::254]/", false),
        ("http://[::ffff:169.254.169.254]/", false),
        // User info.
        ("http://user@localhost/", false),
        ("http://user:pw@127.0.0.1/", false),
        ("http://evil.com@127.0.0.1/", false),
        ("http://127.0.0.1@evil.com/", false),
        // Schemes and shapes.
        ("ftp://localhost/", false),
        ("file:///etc/passwd", false),
        ("javascript:alert(1)", false),
        ("localhost/hook", false),
        ("//localhost/hook", false),
        ("http:/localhost/hook", false),
        ("http:localhost", false),
        ("http://", false),
        ("http:///hook", false),
        ("http://:8080/hook", false),
        ("", false),
        // Ports.
        ("http://localhost:8080/", true),
        ("http://localhost:65535/", true),
        ("http://localhost:0/", false),
        ("http://localhost:65536/", false),
        ("http://localhost:/", false),
        ("http://localhost:80:80/", false),
        ("http://localhost:-1/", false),
        ("http://::1/", false),
        // Characters URL parsers disagree about.
        ("http://local host/", false),
        ("http://localhost\\@evil.com/", false),
        ("http://l\u{043E}calhost/", false),
        ("http://localhost/\t", false),
        ("http://[fe80::1%25eth0]/", false),
        ("http://%6c%6fcalhost/", false),
        ("http://localhost/%zz", false),
        ("http://[::1/", false),
        ("http://[::1]x/", false),
        ("http://[127.0.0.1]/", false),
        ("http://[1::2::3]/", false),
        ("http://[1:2:3:4:5:6:7:8:9]/", false),
    ]

    @Test(arguments: defaults)
    func theDefaultAllowsLoopbackOnly(_ url: String, _ allowed: Bool) {
        #expect(WebhookAllowlist().allows(url) == allowed, "\(url)")
    }

    @Test func anOverlongURLIsRefused() {
        let url = "http://localhost/" + String(repeating: "a", count: WebhookURL.maximumLength)
        #expect(!WebhookAllowlist().allows(url))
        #expect(WebhookAllowlist().allows(String(url.prefix(WebhookURL.maximumLength))))
    }

    /// Allowlist, URL → allowed.
    static let listed: [([String], String, Bool)] = [
        // Exact names: case, trailing dots; a listed name replaces the loopback default.
        (["hooks.example.com"], "https://hooks.example.com/x", true),
        (["hooks.example.com"], "https://HOOKS.Example.COM./x", true),
        (["Hooks.Example.com."], "https://hooks.example.com/x", true),
        (["hooks.example.com"], "https://a.hooks.example.com/x", false),
        (["hooks.example.com"], "https://hooks.example.com.evil.net/x", false),
        (["hooks.example.com"], "https://example.com/x", false),
        (["hooks.example.com"], "http://localhost/x", false),
        (["hooks.example.com"], "http://127.0.0.1/x", false),
        (["hooks.example.com"], "https://user@hooks.example.com/x", false),
        (["hooks.example.com"], "ftp://hooks.example.com/x", false),
        // Wildcards match names below the suffix only.
        (["*.example.com"], "https://a.example.com/", true),
        (["*.example.com"], "https://a.b.example.com/", true),
        (["*.EXAMPLE.com"], "https://A.example.com./", true),
        (["*.example.com"], "https://example.com/", false),
        (["*.example.com"], "https://badexample.com/", false),
        (["*.example.com"], "https://a.example.com.evil.net/", false),
        (["*.google.internal"], "http://other.google.internal/", true),
        (["*.google.internal"], "http://metadata.google.internal/", false),
        (["*.localhost"], "http://localhost/", false),
        (["metadata.google.internal"], "http://metadata.google.internal/", true),
        // Loopback when listed.
        (["localhost"], "http://localhost/", true),
        (["localhost"], "http://127.0.0.1/", false),
        (["127.0.0.1"], "http://127.0.0.1/", true),
        (["127.0.0.1"], "http://127.0.0.2/", false),
        (["127.0.0.1"], "http://localhost/", false),
        (["127.0.0.1"], "http://127.0.0.1.evil.com/", false),
        (["127.0.0.1"], "http://2130706433/", false),
        (["127.0.0.0/8"], "http://127.9.9.9/", true),
        (["::1"], "http://[::1]/", true),
        (["[::1]"], "http://[0::1]/", true),
        // Private ranges by CIDR, and IPv4-mapped addresses judged as IPv4.
        (["10.0.0.0/8"], "http://10.1.2.3/", true),
        (["10.0.0.0/8"], "http://[::ffff:10.1.2.3]/", true),
        (["10.0.0.0/8"], "http://11.0.0.1/", false),
        (["::ffff:10.0.0.0/104"], "http://10.2.3.4/", true),
        (["172.16.0.0/12"], "http://172.31.255.255/", true),
        (["172.16.0.0/12"], "http://172.32.0.1/", false),
        (["192.168.1.10"], "http://192.168.1.10:8080/", true),
        (["192.168.1.10"], "http://192.168.1.11/", false),
        (["fc00::/7"], "http://[fd12:3456::1]/", true),
        (["fc00::/7"], "http://[fe80::1]/", false),
        (["fe80::/10"], "http://[FE80::1]/", true),
        (["169.254.0.0/16"], "http://169.254.1.1/", true),
        (["0.0.0.0"], "http://0.0.0.0/", true),
        // A broad CIDR does not open narrower special ranges inside it.
        (["0.0.0.0/0"], "http://8.8.8.8/", true),
        (["0.0.0.0/0"], "http://10.1.2.3/", false),
        (["0.0.0.0/0"], "http://127.0.0.1/", false),
        (["0.0.0.0/0"], "http://169.254.169.254/", false),
        (["0.0.0.0/0"], "http://0.0.0.0/", false),
        (["169.254.0.0/16"], "http://169.254.169.254/", false),
        (["fc00::/7"], "http://[fd00:ec2::254]/", false),
        (["::/0"], "http://[2001:db8::1]/", true),
        (["::/0"], "http://[::1]/", false),
        (["::/0"], "http://[fc00::1]/", false),
        (["::/0"], "http://[::ffff:8.8.8.8]/", false),
        // Metadata addresses named exactly.
        (["169.254.169.254"], "http://169.254.169.254/latest/meta-data/", true),
        (["169.254.169.254/32"], "http://169.254.169.254/", true),
        (["fd00:ec2::254"], "http://[fd00:ec2::254]/", true),
        // Public addresses and blocks.
        (["2001:db8::/32"], "http://[2001:DB8::1]/", true),
        (["2001:db8::/32"], "http://[2001:db9::1]/", false),
        (["203.0.113.7"], "https://203.0.113.7:8443/", true),
        (["203.0.113.0/24"], "https://203.0.113.200/", true),
        (["203.0.113.0/24"], "https://203.0.114.1/", false),
        // Several entries.
        (["localhost", "*.example.com", "10.0.0.0/8"], "http://localhost:1234/", true),
        (["localhost", "*.example.com", "10.0.0.0/8"], "http://x.example.com/", true),
        (["localhost", "*.example.com", "10.0.0.0/8"], "http://10.0.0.9/", true),
        (["localhost", "*.example.com", "10.0.0.0/8"], "http://192.168.0.1/", false),
        // Non-canonical numeric hosts stay refused whatever is listed.
        (["0.0.0.0/0", "*.example.com"], "http://0177.0.0.1/", false),
        (["0.0.0.0/0"], "http://3232235777/", false),
    ]

    @Test(arguments: listed)
    func entriesAllowExactlyWhatTheyName(_ entries: [String], _ url: String, _ allowed: Bool) throws {
        let allowlist = try WebhookAllowlist(entries)
        #expect(allowlist.allows(url) == allowed, "\(entries) \(url)")
    }

    @Test(arguments: [
        "", "  ", "*", "*.", "*.*.example.com", "http://example.com", "example.com:8080", "example.com/hooks",
        "10.0.0.0/33", "10.0.0.1/8", "10.0.0.0/08", "10.0.0.0/", "/8", "::/129", "0177.0.0.1", "2130706433",
        "127.1", "*.0.0.1", "fe80::1%eth0", "exa mple.com", "user@example.com", "[::1", "ex\u{00E4}mple.com",
    ])
    func malformedEntriesAreRefused(_ entry: String) {
        let error = #expect(throws: HubError.self) { try WebhookAllowlist([entry]) }
        #expect(error?.code == .invalidParameters)
        #expect(WebhookAllowlist.problems(in: [entry]).count == 1)
    }

    @Test func aRefusalNamesTheHostAndTheEntryThatWouldAllowIt() throws {
        let error = try #require(throws: HubError.self) { try WebhookAllowlist().check("http://10.0.0.5:8080/hook") }
        #expect(error.code == .urlNotAllowed)
        #expect(error.message.contains("10.0.0.5"))
        #expect(error.message.contains("private"))
        #expect(error.context?["host"] == "10.0.0.5")
        #expect(error.context?["allow_with"] == ["10.0.0.5", "10.0.0.0/8"])
        #expect(error.recoverySuggestions.contains { $0.contains("webhook_allowlist") })
    }

    @Test func aRefusedPublicNameSuggestsItsNameAndWildcard() throws {
        let allowlist = try WebhookAllowlist(["other.example.org"])
        let error = try #require(throws: HubError.self) { try allowlist.check("https://Hooks.Example.com/x") }
        #expect(error.code == .urlNotAllowed)
        #expect(error.message.contains("hooks.example.com"))
        #expect(error.context?["allow_with"] == ["hooks.example.com", "*.example.com"])
        let apex = try #require(throws: HubError.self) { try allowlist.check("https://example.com/x") }
        #expect(apex.context?["allow_with"] == ["example.com"])
    }

    @Test func aNonCanonicalNumericHostIsRefusedWithoutAnEntryToAdd() throws {
        let error = try #require(throws: HubError.self) { try WebhookAllowlist().check("http://0177.0.0.1/") }
        #expect(error.code == .urlNotAllowed)
        #expect(error.message.contains("0177.0.0.1"))
        #expect(error.context?["allow_with"] == nil)
    }

    @Test func aMalformedURLIsURLNotAllowed() throws {
        for url in ["ftp://localhost/", "http://user@localhost/", "http:///x", "not a url"] {
            let error = try #require(throws: HubError.self) { try WebhookAllowlist().check(url) }
            #expect(error.code == .urlNotAllowed, "\(url)")
        }
    }

    @Test func checkReturnsTheNormalizedURL() throws {
        let url = try WebhookAllowlist().check("HTTP://[0:0::1]:8080/a/b?c=d#fragment")
        #expect(url.scheme == "http")
        #expect(url.host == "::1")
        #expect(url.port == 8080)
        #expect(url.target == "/a/b?c=d")
        #expect(url.description == "http://[::1]:8080/a/b?c=d")
        #expect(try WebhookAllowlist().check("http://LocalHost.").description == "http://localhost/")
        #expect(try WebhookAllowlist().check("http://127.0.0.1?x").description == "http://127.0.0.1/?x")
        #expect(try WebhookURL(parsing: "https://[::ffff:7f00:1]").host == "::ffff:127.0.0.1")
        #expect(try WebhookURL(parsing: "https://[2001:DB8:0:0:1:0:0:1]").host == "2001:db8::1:0:0:1")
    }

    @Test func theConfigurationReportsMalformedEntries() {
        var configuration = Configuration()
        configuration.webhookAllowlist = ["localhost", "10.0.0.1/8"]
        #expect(
            configuration.validate() == [
                "webhook_allowlist[1] \"10.0.0.1/8\" has host bits set past /8; did you mean 10.0.0.0/8?"
            ])
        configuration.webhookAllowlist = ["localhost", "*.example.com", "10.0.0.0/8", "fc00::/7"]
        #expect(configuration.validate().isEmpty)
        #expect(throws: Never.self) { try WebhookAllowlist(configuration: configuration) }
    }
}

/// Settings as people write them in files and environment variables.
@Suite struct ConfigurationSettingTests {
    /// `"no"` was taken and `"off"` refused as "must be true or false".
    @Test func booleansTakeTheWordsPeopleWrite() throws {
        var configuration = Configuration()
        for (text, value) in [("off", false), ("on", true), ("no", false), ("yes", true), ("FALSE", false)] {
            try configuration.set("auto_recovery", .string(text), origin: "test")
            #expect(configuration.autoRecovery == value, "\(text)")
        }
        #expect(throws: HubError.self) { try configuration.set("auto_recovery", "maybe", origin: "test") }
    }
}

import HubCore
import NIOCore

extension OpenAPIDocument {
    /// The document as a server serves it: `servers` names the address the request reached
    /// (its connection's local address, which is the server's own and so, unlike a `Host`
    /// header, not the client's to choose), instead of the generated document's
    /// `http://127.0.0.1:8080`, which held whatever port and host the server listened on.
    /// Without a known address (no socket: the router's test client) the document is as made.
    public static func served(_ document: JSONValue, at address: SocketAddress?) -> JSONValue {
        guard let url = baseURL(address) else { return document }
        var served = document
        served["servers"] = [["url": .string(url)]]
        return served
    }

    /// `http://<ip>:<port>` of an IP socket address (an IPv6 one in brackets, its zone escaped).
    static func baseURL(_ address: SocketAddress?) -> String? {
        guard let address, let ip = address.ipAddress, let port = address.port else { return nil }
        switch address {
        case .v4: return "http://\(ip):\(port)"
        case .v6: return "http://[\(ip.replacingOccurrences(of: "%", with: "%25"))]:\(port)"
        case .unixDomainSocket: return nil
        }
    }
}

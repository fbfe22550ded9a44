import HTTPTypes
import HubCore
import HubEngine
import Hummingbird

/// An open server (no admin token, so bound to loopback, §13) answers only the machine it
/// runs on, and a web page in a browser on that machine is not the machine: any page could
/// otherwise drive the hub with a no-cors `fetch` (cross-site request forgery), and a page
/// whose name was re-pointed at 127.0.0.1 could read it too (DNS rebinding). So a request
/// whose `Origin` is not a loopback origin, or whose `Host` is not a loopback name, is
/// refused with `FORBIDDEN`. Browsers send `Origin` with every cross-site POST; command-line
/// clients send none, and name the host they connected to.
struct LoopbackGuardMiddleware<Context: RequestContext>: RouterMiddleware {
    let hub: Hub

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        // HTTP/1's Host becomes the authority; a Host field left among the headers counts too.
        for host in [request.head.authority, request.headers[.hostField]].compactMap(\.self)
        where !Self.isLoopback(authority: host) {
            return refusal("its Host is \(host.prefix(128)), not this machine's loopback address")
        }
        if let origin = request.headers[.origin], !Self.isLoopback(origin: origin) {
            return refusal("it comes from the web page at \(origin.prefix(128))")
        }
        return try await next(request, context)
    }

    private func refusal(_ why: String) -> Response {
        var response = HubRouter.failure(
            HubError(
                .forbidden, "Request refused: \(why)",
                details:
                    "This server has no admin token, so it answers only programs on this machine that reach it by a loopback address, not web pages.",
                suggestions: [
                    "Connect to http://127.0.0.1:<port> (or localhost) from this machine",
                    "Serve with --admin-token to accept authenticated requests",
                ]),
            operation: "request", workflowID: nil, hub: hub)
        response.status = .forbidden
        return response
    }

    /// `localhost`, `127.x.x.x` or `[::1]`, with or without a port.
    static func isLoopback(authority: String) -> Bool {
        var host = authority.lowercased()
        if host.hasPrefix("[") {
            guard let end = host.firstIndex(of: "]") else { return false }
            host = String(host[host.index(after: host.startIndex)..<end])
            return host == "::1"
        }
        if let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
        if host == "localhost" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// `http://` or `https://` and a loopback authority, nothing after it.
    static func isLoopback(origin: String) -> Bool {
        let lowered = origin.lowercased()
        for scheme in ["http://", "https://"] where lowered.hasPrefix(scheme) {
            let authority = String(lowered.dropFirst(scheme.count))
            guard !authority.contains("/") else { return false }
            return isLoopback(authority: authority)
        }
        return false
    }
}

extension HTTPField.Name {
    /// `Host`, when it is left among the fields rather than made the authority.
    static let hostField = HTTPField.Name("Host")!
}

import HTTPTypes
import HubCore
import HubEngine
import Hummingbird

/// An open server (no admin token, so bound to loopback, §13) answers only the machine it
/// runs on, and a web page in a browser on that machine is not the machine: any page could
/// otherwise drive the hub with a no-cors `fetch` (cross-site request forgery), and a page
/// whose name was re-pointed at 127.0.0.1 could read it too (DNS rebinding). So a request
/// whose `Host` is not a loopback name, or that carries an `Origin` other than the server's
/// own (`http://` and the `Host` it was sent to), is refused with `FORBIDDEN`: a page served
/// from another port of this machine is another site too. Browsers send `Origin` with every
/// cross-site POST, and the server's own pages send their own; command-line clients send
/// none, and name the host they connected to.
struct LoopbackGuardMiddleware<Context: RequestContext>: RouterMiddleware {
    let hub: Hub

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        // HTTP/1's Host becomes the authority; a Host field left among the headers counts too.
        let hosts = [request.head.authority, request.headers[.hostField]].compactMap(\.self)
        for host in hosts where !Self.isLoopback(authority: host) {
            return refusal("its Host is \(host.prefix(128)), not this machine's loopback address")
        }
        if let origin = request.headers[.origin], !Self.isOwn(origin: origin, hosts: hosts) {
            return refusal("it comes from the web page at \(origin.prefix(128)), not from this server's own")
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

    /// `http://` and the authority the request was sent to (every one it names, and at
    /// least one), nothing after it: a page this server served.
    static func isOwn(origin: String, hosts: [String]) -> Bool {
        let lowered = origin.lowercased()
        guard lowered.hasPrefix("http://"), !hosts.isEmpty else { return false }
        let authority = String(lowered.dropFirst("http://".count))
        return hosts.allSatisfy { $0.lowercased() == authority }
    }
}

extension HTTPField.Name {
    /// `Host`, when it is left among the fields rather than made the authority.
    static let hostField = HTTPField.Name("Host")!
}

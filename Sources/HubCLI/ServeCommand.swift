import Foundation
import HubCore
import HubEngine
import HubServer

/// Reads `serve [--host HOST] [--port PORT] [--state-dir DIR]`.
struct ServeOptions {
    var host = "127.0.0.1"
    var port = 8080
    var stateDirectory: String?
    var adminToken: String?
    /// `--set KEY=VALUE` given after `serve`, as before it (§14's settings, the global option).
    var overrides: [(String, String)] = []

    static let usage =
        "coordination-hub serve [--host 127.0.0.1] [--port 8080] [--admin-token T] [--state-dir DIR] [--set KEY=VALUE]"

    init(_ arguments: [String], environment: [String: String] = [:]) throws(HubError) {
        adminToken = environment["COORDINATION_HUB_ADMIN_TOKEN"]
        var tokenSource = "COORDINATION_HUB_ADMIN_TOKEN"
        var i = 0
        func value(_ name: String) throws(HubError) -> String {
            i += 1
            guard i < arguments.count else {
                throw HubError(.invalidArguments, "\(name) needs a value", details: Self.usage)
            }
            return arguments[i]
        }
        while i < arguments.count {
            let arg = arguments[i]
            switch arg {
            case "--host": host = try value(arg)
            case "--port":
                let text = try value(arg)
                guard let n = Int(text), (0...65535).contains(n) else {
                    throw HubError(.invalidArguments, "--port must be a number from 0 to 65535, got \(text.prefix(32))")
                }
                port = n
            case "--state-dir": stateDirectory = try value(arg)
            case "--set": overrides.append(try Invocation.setting(try value(arg)))
            case "--admin-token":
                adminToken = try value(arg)
                tokenSource = "--admin-token"
            default:
                throw HubError(.invalidArguments, "Unknown serve option \(arg.prefix(64))", details: Self.usage)
            }
            i += 1
        }
        // Given but empty or blank (an unset shell variable, `--admin-token "$TOKEN"`) is a mistake,
        // not a wish for an open server: that needs no token at all.
        if let token = adminToken, token.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw HubError(
                .invalidArguments, "\(tokenSource) is empty",
                details: "An admin token must be at least 16 characters; to serve without one, leave it out.",
                suggestions: ["Give a token of at least 16 characters, or unset \(tokenSource)"])
        }
        if let token = adminToken, token.count < 16 {
            throw HubError(.invalidArguments, "\(tokenSource) must be at least 16 characters")
        }
        // A space or a control character cannot come back in an Authorization header as it
        // was given (HTTP trims the ends, and a line break ends the header): the server would
        // start and refuse its own admin.
        if let token = adminToken, token.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) {
            throw HubError(
                .invalidArguments, "\(tokenSource) holds a space or a control character",
                details: "A bearer token travels in an HTTP header, which cannot carry those as given.",
                suggestions: ["Give a token of visible characters only, e.g. from 'openssl rand -hex 24'"])
        }
        // Without authentication only loopback binds are allowed (§13).
        guard adminToken != nil || HubServer.isLoopback(host) else {
            throw HubError(
                .invalidArguments,
                "Refusing to serve on \(host.prefix(64)) without an admin token: the API would be open to anyone",
                details: "Without --admin-token (or COORDINATION_HUB_ADMIN_TOKEN) the server binds to 127.0.0.1, ::1 "
                    + "or localhost only.",
                suggestions: ["Set --admin-token, or serve on 127.0.0.1"])
        }
    }
}

extension CommandLineTool {
    /// `serve …`: runs the HTTP API until SIGTERM or SIGINT, then exits 0.
    func runServer(_ arguments: [String], invocation: Invocation, pretty: Bool) async -> Int32 {
        let options: ServeOptions
        do {
            options = try ServeOptions(arguments, environment: environment)
        } catch {
            return emitError(error, operation: "serve", workflowID: nil, pretty: pretty, exit: 2)
        }
        let stateDirectory = Paths.absolute(
            options.stateDirectory ?? invocation.stateDirectory ?? environment["COORDINATION_HUB_STATE_DIR"]
                ?? ".claude/coordination",
            relativeTo: workingDirectory)
        let hub: Hub
        do {
            hub = try openHub(
                stateDirectory: stateDirectory, overrides: invocation.overrides + options.overrides, pooled: true,
                serving: true)
        } catch let error as HubError {
            return emitError(error, operation: "serve", workflowID: nil, pretty: pretty, exit: 1)
        } catch {
            return emitError(.internal("\(error)"), operation: "serve", workflowID: nil, pretty: pretty, exit: 1)
        }
        let errors = standardError
        let host = options.host
        let server = HubServer(hub: hub, host: options.host, port: options.port, adminToken: options.adminToken)
        do {
            try await server.run { port in
                errors.write(
                    "coordination-hub: serving \(Self.url(host: host, port: port)) (state directory \(stateDirectory))\n"
                )
            }
            errors.write("coordination-hub: stopped\n")
            return 0
        } catch let error as HubError {
            // The address given cannot be served (a port in use): the command line's to fix, as docs/errors.md says.
            return emitError(
                error, operation: "serve", workflowID: nil, pretty: pretty,
                exit: Self.exitStatus(error.code))
        } catch {
            return emitError(
                HubError(.internal, "The server stopped: \(error)", suggestions: ["Is the port already in use?"]),
                operation: "serve", workflowID: nil, pretty: pretty, exit: 1)
        }
    }
}

extension CommandLineTool {
    /// The URL `serve` prints for clients (`--hub`): an IPv6 address in brackets (RFC 3986 §3.2.2).
    static func url(host: String, port: Int) -> String {
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "http://\(bracketed):\(port)"
    }
}

import Dispatch
import HubCore
import HubEngine
import Hummingbird
import HummingbirdCore
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle
import Synchronization
import UnixSignals

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `coordination-hub serve`: the HTTP API and the hub's long-lived work, as
/// `Service`s of one `ServiceGroup` — the HTTP server, event delivery, retention,
/// and due work (agent expiry, lapsed leases, task and workflow timeouts). SIGTERM and SIGINT stop it gracefully: the server stops accepting
/// and finishes in-flight requests, delivery flushes its batches, then the store closes.
public struct HubServer: Sendable {
    public let hub: Hub
    public let host: String
    public let port: Int
    public let maxBodySize: Int
    /// With an admin token every API request needs a bearer token (§13).
    public let adminToken: String?

    public init(
        hub: Hub, host: String = "127.0.0.1", port: Int = 8080, maxBodySize: Int? = nil, adminToken: String? = nil
    ) {
        self.hub = hub
        self.host = host
        self.port = port
        self.maxBodySize = maxBodySize ?? hub.configuration.maxBodySize
        self.adminToken = adminToken.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// How many connections the server holds open at once: the process's open-file limit
    /// (raised to its hard maximum first) less room for the store, the checkpointer and
    /// outgoing webhooks. Past it the server stops accepting and new connections wait in the
    /// listen backlog; without it, running out of descriptors crashed the process
    /// (libdispatch traps when it cannot open a file of its own).
    static func connectionLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1_000 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        let files = Int(min(limit.rlim_cur, 1_048_576))
        return max(16, files - 256)
    }

    /// Hosts that need no authentication to serve on (§13): `localhost`, `::1`, and IPv4
    /// literals `127.x.x.x`. A name that merely begins with `127.` (`127.lan-box.example`) is a
    /// DNS name, which may resolve to any address.
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127"
            && parts.allSatisfy { part in
                (1...3).contains(part.count) && part.allSatisfy { ("0"..."9").contains($0) } && UInt8(part) != nil
            }
    }

    /// The Hummingbird application; `onRunning` receives the bound port (useful with port 0).
    /// Event streams end once `streamsStop` says so.
    public func application(
        streamsStop: @escaping @Sendable () -> Bool = { false },
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        // The answers the connection handler gives, counted as the router's are.
        let connectionAnswers = RequestMetrics(factory: PrometheusMetricsFactory(registry: registry))
        let isOperation: @Sendable (String) -> Bool = { [hub] in hub.table[$0] != nil }
        return Application(
            router: HubRouter.make(
                hub: hub, maxBodySize: maxBodySize, streamsStop: streamsStop, registry: registry,
                adminToken: adminToken),
            server: .http1(
                configuration: .init(additionalChannelHandlers: [
                    ConnectionWatcher(
                        maxBodySize: maxBodySize,
                        answered: { status, method, path in
                            connectionAnswers.record(
                                route: path.flatMap { HubRouter.routeTemplate($0, isOperation: isOperation) }
                                    ?? "NotFound",
                                method: method ?? RequestMetrics.unreadMethod, status: status,
                                started: DispatchTime.now().uptimeNanoseconds)
                        }
                    ) { [hub] error, path in
                        // Named as the route would name it: the operation and workflow of its path.
                        let names = path.map(HubRouter.names(ofPath:)) ?? (operation: "request", workflowID: nil)
                        return HubRouter.envelope(
                            error, operation: names.operation, workflowID: names.workflowID, hub: hub
                        ).serializedBytes(.compact)
                    }
                ])),
            configuration: .init(
                address: .hostname(host, port: port), serverName: "coordination-hub",
                availableConnectionsDelegate: MaximumAvailableConnections(Self.connectionLimit())),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: hub.logger)
    }

    /// The longest a graceful stop waits for requests and streams before cancelling them.
    static let gracefulStopLimit = Duration.seconds(30)

    /// Runs until SIGTERM or SIGINT, then stops gracefully and closes the store.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        // swift-metrics goes to this registry, which GET /metrics emits (once per process).
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        // Other processes on the store (a command run on the state directory) hold expiry too.
        try await hub.recordExpiryHold()
        let closer = StreamCloser(hub: hub)
        let sender = WebhookSender(allowlist: try WebhookAllowlist(configuration: hub.configuration))
        var configuration = ServiceGroupConfiguration(
            // A graceful shutdown reaches services in reverse order: the HTTP server
            // stops accepting and finishes its requests first, then delivery flushes.
            // Event streams end first, so the server's wait for in-flight requests ends.
            services: [
                .init(service: RetentionService(hub: hub)),
                .init(service: DueWorkService(hub: hub)),
                .init(service: EventDelivery(hub: hub, sender: sender)),
                .init(service: application(streamsStop: { closer.isSet }, registry: registry, onRunning: onRunning)),
                .init(service: closer),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: hub.logger)
        // A client that stopped reading its event stream held a graceful stop for as long as it
        // kept its connection, and further signals did nothing. The stop is cancelled after a
        // limit, or at once by a second signal.
        configuration.maximumGracefulShutdownDuration = Self.gracefulStopLimit
        let group = ServiceGroup(configuration: configuration)
        let running = Task { try await group.run() }
        let secondSignal = Task {
            var signals = await UnixSignalsSequence(trapping: .sigterm, .sigint).makeAsyncIterator()
            guard await signals.next() != nil, await signals.next() != nil else { return }
            hub.logger.warning("a second signal: cancelling the graceful stop")
            running.cancel()
        }
        defer { secondSignal.cancel() }
        do {
            try await running.value
        } catch {
            try? await sender.shutdown()
            try? await hub.store.close()
            throw Self.bindFailure(error, host: host, port: port) ?? error
        }
        try await sender.shutdown()
        try await hub.store.close()
    }
}

extension HubServer {
    /// What to tell the user when the server could not listen at `host`:`port` (the address
    /// given to `serve`, so `INVALID_ARGUMENTS`); `nil` for any other error.
    static func bindFailure(_ error: any Error, host: String, port: Int) -> HubError? {
        if let unknown = error as? SocketAddressError.UnknownHost {
            return HubError(
                .invalidArguments, "Cannot serve on \(host.prefix(64)): the name does not resolve to an address",
                details: "The resolver said: \(unknown.errorDescription).",
                context: ["host": .string(String(host.prefix(256))), "port": .count(port)],
                suggestions: ["Serve on an address such as 127.0.0.1, or on a name this machine resolves"])
        }
        guard let failure = error as? IOError else { return nil }
        switch failure.errnoCode {
        case EADDRINUSE:
            return HubError(
                .invalidArguments, "Port \(port) on \(host) is already in use",
                details: "Another process (another coordination-hub serve, perhaps) is listening there.",
                context: ["host": .string(host), "port": .count(port)],
                suggestions: [
                    "Choose another --port", "Use --port 0 for a free port; the address is printed on stderr",
                ])
        case EACCES:
            return HubError(
                .invalidArguments, "Not allowed to listen on port \(port) on \(host)",
                details: "Ports below 1024 need privileges this process does not have.",
                context: ["host": .string(host), "port": .count(port)],
                suggestions: ["Choose a --port from 1024 up, or --port 0 for a free one"])
        case EADDRNOTAVAIL:
            return HubError(
                .invalidArguments, "\(host) is not an address of this machine",
                context: ["host": .string(host), "port": .count(port)],
                suggestions: ["Serve on 127.0.0.1, or on an address this machine has"])
        default:
            return nil
        }
    }
}

/// Ends the server's event streams when a graceful shutdown begins: an open stream
/// is an in-flight request, which the HTTP server would otherwise wait for.
/// Waiting claims are released the same way.
final class StreamCloser: Service, Sendable {
    private let flag = Atomic<Bool>(false)
    let hub: Hub
    var isSet: Bool { flag.load(ordering: .acquiring) }

    init(hub: Hub) { self.hub = hub }

    func run() async throws {
        try? await gracefulShutdown()
        hub.logger.info("stopping gracefully: finishing requests and streams; a second signal cancels what is left")
        flag.store(true, ordering: .releasing)
        await hub.workSignal.close()
        await hub.eventSignal.close()
    }
}

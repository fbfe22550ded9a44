import Dispatch
import HTTPTypes
import Hummingbird
import Metrics
import Synchronization

/// Request counts, durations and errors (§13's `/metrics`), recorded through swift-metrics
/// into `factory` (the server's Prometheus registry).
///
/// In place of Hummingbird's `MetricsMiddleware`, which made an error counter for every
/// route, method and status it saw, successes included: each 200 brought a series
/// `hb_request_errors{error_type="200"} 0`. Here an error series exists only once a request
/// fails: a response with an error status (the API answers its errors as envelopes, which
/// Hummingbird's counted as successes) or a thrown error. Counters end in `_total`.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: RequestMetrics
    /// Whether a name is an operation's (for the label of a request no route answered).
    let isOperation: @Sendable (String) -> Bool

    init(factory: any MetricsFactory, isOperation: @escaping @Sendable (String) -> Bool) {
        metrics = RequestMetrics(factory: factory)
        self.isOperation = isOperation
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        let active = metrics.active(request.method)
        active.increment()
        do {
            var response = try await next(request, context)
            let status = response.status
            // A method a known path does not serve is answered by no route: label it by its path's.
            let route =
                status == .methodNotAllowed
                ? HubRouter.routeTemplate(request.uri.path, isOperation: isOperation) ?? "NotFound"
                : context.endpointPath ?? "Unknown"
            let metrics = metrics
            guard request.method != .head else {
                // A HEAD's body is dropped after this middleware (the GET's is answered without it),
                // so it is never written: recorded now, or it was never counted and stayed active.
                metrics.record(route: route, method: request.method, status: status, started: started)
                active.decrement()
                return response
            }
            let body = response.body
            // Recorded once the body is written (a stream's at its end), as Hummingbird's middleware did.
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                defer {
                    metrics.record(route: route, method: request.method, status: status, started: started)
                    active.decrement()
                }
                try await body.write(writer)
            }
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            metrics.record(
                route: context.endpointPath ?? "NotFound", method: request.method, status: status, started: started)
            active.decrement()
            throw error
        }
    }
}

/// The handles of ``RequestMetricsMiddleware``, made once per route, method and status.
final class RequestMetrics: Sendable {
    struct Key: Hashable {
        let route: String
        let method: HTTPRequest.Method
        let status: Int
    }

    struct Handles: Sendable {
        let requests: Counter
        let duration: Timer
        /// Only for an error status: a success has no error series.
        let errors: Counter?
    }

    let factory: any MetricsFactory
    private let handles = Mutex<[Key: Handles]>([:])
    private let meters = Mutex<[HTTPRequest.Method: Meter]>([:])

    init(factory: any MetricsFactory) { self.factory = factory }

    /// The method label of a request whose head could not be read (OpenTelemetry's).
    static let unreadMethod = HTTPRequest.Method("_OTHER") ?? .options  // "_OTHER" is a valid token

    /// Whether a response status is an error (4xx, 5xx).
    static func isError(_ status: Int) -> Bool { status >= 400 }

    func active(_ method: HTTPRequest.Method) -> Meter {
        meters.withLock { meters in
            if let meter = meters[method] { return meter }
            let meter = Meter(
                label: "http.server.active_requests", dimensions: [("http.request.method", method.rawValue)],
                factory: factory)
            meters[method] = meter
            return meter
        }
    }

    func record(route: String, method: HTTPRequest.Method, status: HTTPResponse.Status, started: UInt64) {
        let h = handles(Key(route: route, method: method, status: status.code))
        h.requests.increment()
        h.errors?.increment()
        h.duration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
    }

    private func handles(_ key: Key) -> Handles {
        handles.withLock { known in
            if let h = known[key] { return h }
            let dimensions = [
                ("http.route", key.route), ("http.request.method", key.method.rawValue),
                ("http.response.status_code", String(key.status)),
            ]
            let h = Handles(
                requests: Counter(label: "hb_requests_total", dimensions: dimensions, factory: factory),
                duration: Timer(
                    label: "http.server.request.duration", dimensions: dimensions, preferredDisplayUnit: .seconds,
                    factory: factory),
                errors: Self.isError(key.status)
                    ? Counter(
                        label: "hb_request_errors_total",
                        dimensions: [
                            ("http.route", key.route), ("http.request.method", key.method.rawValue),
                            ("error.type", String(key.status)),
                        ], factory: factory)
                    : nil)
            known[key] = h
            return h
        }
    }
}

import Foundation
import HTTPTypes
import HubCore
import HubEngine
import Hummingbird

extension HubRouter {
    /// The methods the API serves on `path`, or `nil` when no route has that path; `isOperation`
    /// says whether a name is an operation's (a path naming none is not found, whatever the method).
    static func allowedMethods(_ path: String, isOperation: (String) -> Bool) -> [HTTPRequest.Method]? {
        guard !hasEmptySegment(path) else { return nil }
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        func operation(_ segment: Substring) -> Bool {
            isOperation(segment.removingPercentEncoding ?? String(segment))
        }
        switch segments.count {
        case 1 where ["healthz", "openapi.json", "metrics"].contains(segments[0]): return [.get, .head]
        case 2 where segments[0] == "v1" && segments[1] == "workflows": return [.get, .head]
        case 2 where segments[0] == "v1" && (segments[1] == "operations" || operation(segments[1])): return [.post]
        case 3 where segments[0] == "v1" && segments[1] == "workflows": return [.get, .head]
        case 3 where segments[0] == "v1" && segments[1] == "events" && segments[2] == "stream": return [.get, .head]
        case 4 where segments[0] == "v1" && segments[1] == "workflows" && operation(segments[3]): return [.post]
        default: return nil
        }
    }
}

extension HubRouter {
    /// `/v1/workflows//start` names no workflow: an empty segment is no route's.
    static func hasEmptySegment(_ path: String) -> Bool { path.dropFirst().contains("//") }

    /// The route `path` belongs to, written as the router writes its routes' paths (the
    /// metrics' `http_route`), or `nil` when it belongs to none: for a request no route
    /// answered because of its method (405), which the router labels NotFound.
    static func routeTemplate(_ path: String, isOperation: (String) -> Bool) -> String? {
        guard allowedMethods(path, isOperation: isOperation) != nil else { return nil }
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        switch segments.count {
        case 1: return "/" + segments[0]
        case 2 where segments[1] == "workflows" || segments[1] == "operations":
            return "/" + segments.joined(separator: "/")
        case 2 where segments[0] == "v1": return "/v1/{operation}"
        case 3 where segments[1] == "events": return "/v1/events/stream"
        case 3: return "/v1/workflows/{id}"
        case 4: return "/v1/workflows/{id}/{operation}"
        default: return nil
        }
    }
}

/// A known path asked with a method it does not serve gets 405 with `Allow`, as
/// HTTP says, instead of the router's bare 404; the body is the error envelope
/// (`OPERATION_NOT_FOUND`: that method and path name no operation).
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    let hub: Hub

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            guard let allowed = HubRouter.allowedMethods(request.uri.path, isOperation: { hub.table[$0] != nil })
            else {
                // No route at this path: a JSON error like every other answer of the API, not an empty 404.
                let emptySegment = HubRouter.hasEmptySegment(request.uri.path)
                var response = HubRouter.failure(
                    HubError(
                        .operationNotFound, "Nothing is served at \(request.uri.path.prefix(256))",
                        details: emptySegment
                            ? "The path has an empty segment (//): a workflow id or operation name is missing."
                            : "The API lives under /v1; /healthz, /metrics and /openapi.json beside it.",
                        suggestions: ["See GET /openapi.json for every path"]),
                    operation: "request", workflowID: nil, hub: hub)
                response.status = .notFound
                return response
            }
            guard !allowed.contains(request.method) else { throw error }
            let names = allowed.map(\.rawValue).joined(separator: ", ")
            var response = HubRouter.failure(
                HubError(
                    .operationNotFound,
                    "\(request.method.rawValue.prefix(16)) is not served on this path; use \(names)",
                    suggestions: ["See GET /openapi.json for the methods of every path"]),
                operation: "request", workflowID: nil, hub: hub)
            response.status = .methodNotAllowed
            response.headers[.allow] = names
            return response
        }
    }
}

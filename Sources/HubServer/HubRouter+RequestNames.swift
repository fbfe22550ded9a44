import Foundation
import HubCore

extension HubRouter {
    /// The operation and workflow a request's path names, as its route names them in its
    /// answers: `POST /v1/workflows/{id}/{operation}`, `POST /v1/{operation}`, and the reads
    /// `GET /v1/workflows[/{id}]`. The envelope route (`/v1/operations`), whose operation is
    /// in the body, and any other path are `"request"`.
    ///
    /// For answers given before a route runs (a body announced too large), so that they name
    /// the operation requested as the route's own answers do (§3).
    static func names(ofPath path: String) -> (operation: String, workflowID: String?) {
        let route = path.prefix { $0 != "?" && $0 != "#" }
        let segments = route.split(separator: "/", omittingEmptySubsequences: true).map { segment in
            let raw = String(segment)
            return raw.contains("%") ? (raw.removingPercentEncoding ?? raw) : raw
        }
        guard segments.first == "v1" else { return ("request", nil) }
        switch segments.count {
        case 2 where segments[1] == "operations": return ("request", nil)
        case 2 where segments[1] == "workflows": return ("list-workflows", nil)
        case 2: return (segments[1], nil)
        case 3 where segments[1] == "workflows": return ("get-status", segments[2])
        case 4 where segments[1] == "workflows": return (segments[3], segments[2])
        default: return ("request", nil)
        }
    }
}

import HTTPTypes
import HubCore
import HubEngine
import Hummingbird
import NIOCore

extension HubRouter {
    /// `GET /v1/events/stream`: the log as Server-Sent Events (§13), filtered like
    /// `get-events` (`patterns`, `event_types`, `severity`, `min_severity`,
    /// `workflow_id`, `after_sequence`; lists comma-separated or repeated), resumable
    /// with `Last-Event-ID`. Each event is `id: <sequence>`, `event: <type>`, `data: <json>`.
    /// Without `after_sequence` or `Last-Event-ID` it starts after the newest event at the
    /// time of the request (`after_sequence=0` sends the whole log first).
    /// The stream ends when `stop` says so (the server's graceful shutdown).
    static func addEventStream(
        to router: Router<HubRequestContext>, hub: Hub, stop: @escaping @Sendable () -> Bool, auth: Authorization
    ) {
        router.get("v1/events/stream") { request, context -> Response in
            // Named as the stream's every other answer is: get-events, which a follow runs.
            if let refusal = await requireAdmin(
                request.headers, auth: auth, operation: "get-events", what: "the event stream", hub: hub)
            {
                return refusal
            }
            let names: Set<String> = [
                "patterns", "event_types", "severity", "min_severity", "after_sequence", "workflow_id",
            ]
            if let refusal = unknownQuery(request, allowed: names, lists: ["patterns", "event_types", "severity"]) {
                return failure(refusal, operation: "get-events", workflowID: nil, hub: hub)
            }
            var request = request
            if let refusal = await refuseBody(
                &request, limit: 1 << 16, path: "/v1/events/stream",
                instead: "Put the filters in the query: \(names.sorted().joined(separator: ", "))")
            {
                return failure(refusal, operation: "get-events", workflowID: nil, hub: hub)
            }
            let query = request.uri.queryParameters
            var parameters: JSONValue = .emptyObject
            for key in ["patterns", "event_types", "severity"] {
                let given = query.getAll(key)
                let values = given.flatMap { $0.split(separator: ",").map(String.init) }
                if !values.isEmpty {
                    parameters[key] = .strings(values)
                } else if !given.isEmpty {
                    return failure(
                        HubError.parameter(key, "needs at least one value (comma-separated); leave it out for all"),
                        operation: "get-events", workflowID: nil, hub: hub)
                }
            }
            if let min = query["min_severity"] { parameters["min_severity"] = .string(String(min)) }
            // Both are checked; Last-Event-ID (a reconnecting client's) wins over the query's after_sequence.
            let resumed = request.headers[.lastEventID] != nil
            for (name, given) in [
                ("after_sequence", query["after_sequence"].map(String.init)),
                ("Last-Event-ID", request.headers[.lastEventID]),
            ] {
                guard let given else { continue }
                guard let n = Int64(given), n >= 0 else {
                    return failure(
                        HubError.parameter(name, "must be an event sequence number"),
                        operation: "get-events", workflowID: nil, hub: hub)
                }
                parameters["after_sequence"] = .int(n)
            }
            let workflowID = query["workflow_id"].map(String.init)
            // Without after_sequence or Last-Event-ID the stream carries new events: those after
            // the newest one now, fixed before the headers go, so a client that publishes once
            // it has them gets its event. Fixed first: the check below then reads only from
            // there (it read the log from its start, a second and more on a long log, for a
            // pattern that matched nothing, and events published meanwhile were not carried).
            let follow: OperationRequest
            do throws(HubError) {
                follow = try await hub.fixingFollowStart(
                    OperationRequest(workflowID: workflowID, operation: "get-events", parameters: parameters))
            } catch {
                let named =
                    resumed && error.context?["field"] == "after_sequence" ? Self.namingLastEventID(error) : error
                return failure(named, operation: "get-events", workflowID: workflowID, hub: hub)
            }
            var first = follow
            first.parameters["limit"] = 1
            // Bad filters get their error and status before any stream starts.
            let check = await hub.perform(first)
            if let error = check.error {
                guard resumed, error.context?["field"] == "after_sequence" else {
                    return json(check.json, status: error.code.httpStatus)
                }
                return failure(Self.namingLastEventID(error), operation: "get-events", workflowID: workflowID, hub: hub)
            }
            // The client closing its connection ends the stream at the follower's next look
            // (Hummingbird does not cancel a response body then); a client gone without a word
            // is found by the keep-alive comment's write failing.
            let departure = await context.departure()
            let body = ResponseBody { writer in
                let ended: @Sendable () -> Bool = { stop() || departure?.hasHappened == true }
                try await Self.writeEvents(of: follow, hub: hub, stop: ended, to: &writer)
                if departure?.hasHappened == true {
                    hub.logger.info("an event stream ended: its client went away")
                }
                try await writer.finish(nil)
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: body)
        }
    }
}

extension HubRouter {
    /// A refusal of the start a client's `Last-Event-ID` gave, named as the header it sent
    /// (the stream reads it as `after_sequence`, which the client never sent).
    static func namingLastEventID(_ error: HubError) -> HubError {
        var named = error
        named.message = error.message.replacingOccurrences(
            of: "parameter 'after_sequence'", with: "header 'Last-Event-ID'")
        named.context?["field"] = "Last-Event-ID"
        named.details =
            "Send a Last-Event-ID the stream gave (an event's id: its sequence), or none to start with new events."
        return named
    }

    /// How long a stream with nothing to send waits before it writes a comment.
    static let streamKeepAlive: Duration = .seconds(15)

    /// Writes the followed events as SSE frames, what one read or commit brought in one write;
    /// a quiet stream writes a `: keep-alive` comment every ``streamKeepAlive``.
    static func writeEvents(
        of follow: OperationRequest, hub: Hub, stop: @escaping @Sendable () -> Bool,
        to writer: inout any ResponseBodyWriter
    ) async throws {
        var deduplicator = StreamDeduplicator(hub: hub)
        for try await batch in hub.follow(follow, keepAlive: streamKeepAlive, shouldStop: stop).batches() {
            guard !batch.isEmpty else {
                try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                continue
            }
            var frames = ""
            for event in batch {
                guard await deduplicator.admits(event) else { continue }
                let sequence = event["sequence"]?.intValue ?? 0
                let type = event["event_type"]?.stringValue ?? "event"
                frames += "id: \(sequence)\nevent: \(type)\ndata: \(event.serialized(.compact))\n\n"
            }
            if !frames.isEmpty { try await writer.write(ByteBuffer(string: frames)) }
        }
    }
}

extension HTTPField.Name {
    /// `Last-Event-ID`, with which an SSE client resumes.
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}

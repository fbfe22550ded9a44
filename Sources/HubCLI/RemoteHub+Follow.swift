import AsyncHTTPClient
import Foundation
import HubCore
import HubEngine
import NIOCore

extension RemoteHub {
    /// The filters of `get-events` that the server's event stream takes (§13).
    static let streamFilters: Set<String> = [
        "patterns", "event_types", "severity", "min_severity", "after_sequence", "follow", "limit", "workflow_id",
    ]

    /// The stream's URL for a `get-events` with `follow: true`, or the error that names the
    /// parameters the stream does not take.
    func streamURL(for request: OperationRequest) throws(HubError) -> String {
        var parameters = request.parameters.objectValue ?? [:]
        // The stream reads in ascending order, as a follow does.
        if parameters["order"]?.stringValue == "asc" { parameters["order"] = nil }
        if let other = parameters.keys.first(where: { !Self.streamFilters.contains($0) }) {
            throw HubError.parameter(
                other,
                "is not taken by a follow through a server, which reads its event stream (patterns, event_types, severity, min_severity, after_sequence and the workflow id)",
                suggestions: ["Leave out \(other.prefix(64)), or run get-events without follow to use it"])
        }
        var query: [String] = []
        // Unreserved characters and `*` stay; everything else is percent-encoded — `#` above
        // all, which would end the query and make the rest of it (and of the pattern) a fragment.
        let kept = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.*")
        func add(_ name: String, _ value: String) {
            let escaped = value.addingPercentEncoding(withAllowedCharacters: kept) ?? value
            query.append("\(name)=\(escaped)")
        }
        for key in ["patterns", "event_types", "severity"] {
            switch parameters[key] {
            case .string(let one)?: add(key, one)
            case .array(let many)?: add(key, many.compactMap(\.stringValue).joined(separator: ","))
            default: break
            }
        }
        if let min = parameters["min_severity"]?.stringValue { add("min_severity", min) }
        if let after = parameters["after_sequence"]?.intValue { add("after_sequence", String(after)) }
        // The workflow as the call form names it, or among the parameters (as get-events takes it).
        let named = parameters["workflow_id"]?.stringValue
        if let id = request.workflowID, let named, id != named {
            throw HubError.parameter(
                "workflow_id", "is \(named.prefix(64)) but the call names \(id.prefix(64)); give one")
        }
        if let id = request.workflowID ?? named { add("workflow_id", id) }
        return base + "/v1/events/stream" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }

    /// What a follow reads with `get-events` again and again, as the stream does not take it:
    /// a subscription's events (acknowledged in the store), and a time window.
    static let polledFilters: Set<String> = ["subscription", "ack", "since", "until"]

    /// Follows the server's event stream, handing each event's JSON line to `emit`, until
    /// `stop` is called. An error answer (a bad filter, a refused token) is returned as
    /// the operation's response; `nil` once the stream ended. `started` is called once the
    /// follow's starting point is fixed (the stream's headers came, which the server sends
    /// after fixing it): an event published after that is printed.
    func follow(
        _ request: OperationRequest, started: @escaping @Sendable (String) -> Void = { _ in },
        emit: @escaping @Sendable (String) -> Void
    ) async throws -> OperationResponse? {
        // Refused as a local follow refuses them, with the same codes (and exit status).
        try Hub.refuseUnfollowable(request, table: .standard)
        // Ascending is the order of every follow.
        let ascending = request.parameters["order"]?.stringValue == "asc"
        let keys = (request.parameters.objectValue?.keys ?? []).filter { !(ascending && $0 == "order") }
        if keys.contains(where: Self.polledFilters.contains),
            keys.allSatisfy({ Self.streamFilters.contains($0) || Self.polledFilters.contains($0) })
        {
            return try await poll(request, started: started, emit: emit)
        }
        var http = HTTPClientRequest(url: try streamURL(for: request))
        http.method = .GET
        http.headers.add(name: "Accept", value: "text/event-stream")
        http.headers.add(name: "User-Agent", value: "coordination-hub/\(Hub.version)")
        if let token { http.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await client.execute(http, timeout: .hours(24 * 365))
        guard response.status == .ok else {
            let body = try await response.body.collect(upTo: Self.maximumResponse)
            let json = try JSONParser.parse(bytes: Array(body.readableBytesView), extraDepth: 16)
            return OperationResponse(json: json)
        }
        started(FollowNotice.remote(shown, polling: false))
        var pending: [UInt8] = []
        for try await chunk in response.body {
            pending += chunk.readableBytesView
            while let newline = pending.firstIndex(of: 0x0A) {
                let line = pending[..<newline]
                pending.removeFirst(newline + 1)
                if line.starts(with: Array("data: ".utf8)) {
                    emit(String(decoding: line.dropFirst(6), as: UTF8.self))
                }
            }
        }
        return nil
    }

    /// A follow through `get-events` calls, as a local follow reads what other processes
    /// wrote: again after each read that brought events, and every `interval` otherwise.
    /// With a subscription and `ack` each read is the subscription's, acknowledged, and all of
    /// it is printed (a replay's events again); otherwise each read starts after the last event
    /// printed (without `ack` a subscription's read leaves its cursor alone), the first after
    /// `after_sequence`, `since`, a subscription's cursor, or else the newest event when the
    /// follow began (as a local follow does).
    func poll(
        _ request: OperationRequest, interval: Duration = .milliseconds(200),
        started: @escaping @Sendable (String) -> Void = { _ in }, emit: @escaping @Sendable (String) -> Void
    ) async throws -> OperationResponse? {
        var next = request
        next.parameters["follow"] = nil
        let bySubscription = request.parameters["subscription"] != nil
        let acking = bySubscription && request.parameters["ack"]?.boolValue == true
        var last: Int64 = request.parameters["after_sequence"]?.intValue ?? -1
        if !request.namesFollowStart {
            // The log's end, whatever the filters: every event after it is new.
            let newest = await perform(
                OperationRequest(workflowID: nil, operation: "get-events", parameters: ["order": "desc", "limit": 1]))
            if newest.error != nil { return newest }
            last = newest.json["result"]?["last_sequence"]?.intValue ?? 0
        }
        started(FollowNotice.remote(shown, polling: true))
        while true {
            try Task.checkCancellation()
            if !acking && last >= 0 { next.parameters["after_sequence"] = .int(last) }
            let response = await perform(next)
            try Task.checkCancellation()
            if response.error != nil { return response }
            let returned = response.json["result"]?["events"]?.arrayValue ?? []
            // What an acknowledging read returns is delivered (a replay's events again) and
            // acknowledged: every one is printed, as a local follow prints them.
            let events = acking ? returned : returned.filter { ($0["sequence"]?.intValue ?? 0) > last }
            for event in events {
                emit(event.serialized(.compact))
                last = max(last, event["sequence"]?.intValue ?? last)
            }
            // How far a subscription's read looked: the next goes on from there.
            if bySubscription, let through = response.json["result"]?["read_through"]?.intValue {
                last = max(last, through)
            }
            if events.isEmpty { try await Task.sleep(for: interval) }
        }
    }
}

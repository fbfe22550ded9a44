import HubCore
import HubStore

/// `publish-event`: store and route a client's event, or a batch of them (§10).
///
/// Client events are reports: they never change workflow state, and an archived
/// workflow takes none (§17). Publishing is
/// durable on return; batching settings shape delivery only.
enum PublishEvent {
    struct EventInput: Decodable, Sendable {
        var eventType: String
        var data: JSONValue?
        var severity: Severity?
        var phase: Int?
        var source: String?
        var agentId: String?
        var metadata: MetadataInput?
        var dedupId: String?
        var enableBatching: Bool?
        var batchOptimization: String?

        /// Whether the event changes how delivery batches its type (§10).
        var changesBatching: Bool { enableBatching != nil || batchOptimization != nil }
    }

    struct MetadataInput: Decodable, Sendable {
        var correlationId: String?
        var causationId: String?
        var tags: [String]?
    }

    struct Parameters: OperationParameters {
        var eventType: String?
        var data: JSONValue?
        var severity: Severity?
        var phase: Int?
        var source: String?
        var agentId: String?
        var metadata: MetadataInput?
        var dedupId: String?
        var enableBatching: Bool?
        var batchOptimization: String?
        var events: [EventInput]?

        static let eventProperties: [Schema.Property] = [
            .init("event_type", .string("lower_snake_case, e.g. build_finished.", maxLength: 64)),
            .init("data", .anyJSON("The event's payload (any JSON).")),
            .init("severity", .oneOf(Severity.allCases.map(\.rawValue), "Defaults to info.")),
            .init(
                "phase",
                .integer(
                    "Defaults to the workflow's current phase; at most the workflow's last phase, 0 for none in particular. An event about no workflow has phase 0.",
                    min: 0)),
            .init("source", .string("Who publishes; defaults to client.", maxLength: 128)),
            .init("agent_id", .id("Publish on agent.<id>.<event_type> instead of a workflow's or the hub's subject.")),
            .init(
                "metadata",
                .object([
                    .init("correlation_id", .name(maxLength: 128)),
                    .init("causation_id", .name("The event_id of the event that caused this one.", maxLength: 128)),
                    .init("tags", .array(.string(maxLength: 128), maxItems: 50)),
                ])),
            .init(
                "dedup_id",
                .name(
                    "An id this workflow's events saw inside the dedup window (whatever the event type) stores nothing and answers the original event with duplicate: true.",
                    maxLength: 256)),
            .init(
                "enable_batching",
                .boolean(
                    "Whether delivery may batch this event type of the workflow's events (its own batching settings; hub-wide ones are configure-batching's). Defaults to true."
                )),
            .init(
                "batch_optimization",
                .oneOf(
                    ["adaptive", "fixed"],
                    "How delivery batches this event type of the workflow's events: adaptive, or fixed at the size configured."
                )),
        ]

        static let schema = Schema.object(
            eventProperties + [
                .init(
                    "events",
                    .array(
                        .object(
                            eventProperties.map {
                                $0.name == "event_type" ? .init($0.name, $0.schema, required: true) : $0
                            }),
                        "Several events in one call, stored together.", minItems: 1, maxItems: 1000))
            ])

        /// Publishing is the hottest path of all (a batch holds up to 1,000 events): the
        /// validated object is read directly, without `Decodable`'s containers; anything it
        /// does not expect goes the general way.
        static func decode(_ value: JSONValue) throws(HubError) -> Self {
            guard let fast = Self(validated: value) else {
                return try decodeThroughDecodable(value)
            }
            return fast
        }

        private init?(validated m: JSONValue) {
            guard case .object = m else { return nil }
            guard let single = EventInput(validated: m, requireType: false) else { return nil }
            eventType = m["event_type"]?.stringValue
            data = single.data
            severity = single.severity
            phase = single.phase
            source = single.source
            agentId = single.agentId
            metadata = single.metadata
            dedupId = single.dedupId
            enableBatching = single.enableBatching
            batchOptimization = single.batchOptimization
            switch m["events"] {
            case nil, .null?: events = nil
            case .array(let items)?:
                var list: [EventInput] = []
                list.reserveCapacity(items.count)
                for item in items {
                    guard let input = EventInput(validated: item, requireType: true)
                    else { return nil }
                    list.append(input)
                }
                events = list
            default: return nil
            }
        }

        /// The single event or the list, whichever was given.
        func inputs() throws(HubError) -> [EventInput] {
            if let events {
                // A single event's field beside a list would be silently ignored: each listed event carries its own.
                let single: [(String, Bool)] = [
                    ("event_type", eventType != nil), ("data", data != nil), ("dedup_id", dedupId != nil),
                    ("severity", severity != nil), ("phase", phase != nil), ("source", source != nil),
                    ("agent_id", agentId != nil), ("metadata", metadata != nil),
                    ("enable_batching", enableBatching != nil), ("batch_optimization", batchOptimization != nil),
                ]
                if let (name, _) = single.first(where: { $0.1 }) {
                    throw HubError.parameter(
                        "events",
                        "cannot be combined with a single event's \(name); give it inside each event of the list")
                }
                return events
            }
            guard let eventType else {
                throw HubError.parameter("event_type", "is required (or give a list of events in 'events')")
            }
            return [
                EventInput(
                    eventType: eventType, data: data, severity: severity, phase: phase, source: source,
                    agentId: agentId,
                    metadata: metadata, dedupId: dedupId, enableBatching: enableBatching,
                    batchOptimization: batchOptimization)
            ]
        }
    }

    static let descriptor = OperationDescriptor(
        "publish-event", scope: .hub, mutating: false, parameters: Parameters.self,
        summary: "Publish an event (or a list in 'events'): stored durably and routed to matching subscriptions.",
        discussion: """
            With a workflow id the subject is workflow.<id>.<event_type> and the event takes the workflow's \
            current phase and correlation id; with agent_id, agent.<id>.<event_type>. Without a workflow id (SPEC \
            §2 lists publish-event among the workflow operations; the hub also takes events about no workflow, \
            as POST /v1/publish-event does) the event is about no workflow: workflow_id null, phase 0, subject \
            hub.<source>.<event_type> when source is a usable segment (a-z, 0-9, _ or -, at most 64), else \
            hub.client.<event_type>; patterns such as hub.# or *.<event_type> match it. Only the admin token (or any \
            caller of an open loopback server) may publish without a workflow id: an agent token must name a \
            workflow it has worked in. Client events are reports \
            and never change workflow state (its state_version stays, so if_version is not taken). \
            A dedup_id seen within the dedup window (configuration dedup_window, default 2m) stores nothing and \
            returns the original event with duplicate: true.
            """,
        example: """
            coordination-hub workflow_123 publish-event '{"event_type": "tests_passed", "data": {"suite": "unit"}, "severity": "info", "metadata": {"tags": ["ci"]}, "dedup_id": "ci-run-42"}'
            """,
        workflowID:
            "The workflow the event is about: its subject is workflow.<id>.<event_type> and its phase defaults to the workflow's current phase. Without one the event is about no workflow (agent.<agent_id>.… or hub.<source>.…).",
        withoutVersion:
            "a client's event is a report that never changes workflow state (its state_version stays), so there is no change for it to guard",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let inputs = try p.inputs()
        let listed = p.events != nil
        for (n, input) in inputs.enumerated() { try validate(input, field: p.events == nil ? "" : "events[\(n)].") }
        let workflowID = context.workflowID
        let now = context.now
        let window = context.hub.configuration.dedupWindow.milliseconds
        let ids = context.hub.ids
        // Ids and stored data are made here, beside the other requests, rather than in the
        // store's single writer, where every publisher waits its turn.
        // So are the drafts of events about no workflow; one about a workflow takes its phase and
        // correlation from the workflow as the write reads it.
        let eventIDs = ids.make("evt", count: inputs.count)
        let prepared = zip(inputs, eventIDs).map { input, id in
            (
                input: input, id: id, data: (input.data ?? .emptyObject).serialized(),
                draft: workflowID == nil ? draft(for: input, workflow: nil) : nil
            )
        }
        // Each event with whether it was a duplicate and, when it was stored now, its data as stored.
        let published = try await context.store.write { tx -> [(HubEvent, Bool, String?)] in
            let workflow = try workflowID.flatMap { try tx.workflow($0) }
            // An archived workflow answers reads only (§17): nothing more is recorded about it.
            if let workflow, workflow.archived {
                throw HubError.invalidTransition(
                    operation: "publish-event", workflowID: workflow.id, current: workflow.status, archived: true,
                    allowed: [])
            }
            // An event about no workflow carries phase 0 (§4): its routing key and message say so.
            if workflow == nil, let n = inputs.firstIndex(where: { ($0.phase ?? 0) != 0 }) {
                throw HubError.parameter(
                    listed ? "events[\(n)].phase" : "phase",
                    "is \(inputs[n].phase ?? 0), but an event about no workflow has phase 0",
                    suggestions: ["Name the workflow the event is about, or leave phase out"])
            }
            // A phase the workflow does not have (0: none in particular).
            if let workflow, let n = inputs.firstIndex(where: { ($0.phase ?? 0) > workflow.totalPhases }) {
                throw HubError.parameter(
                    listed ? "events[\(n)].phase" : "phase",
                    "is \(inputs[n].phase ?? 0), but workflow \(workflow.id) has \(workflow.totalPhases) phase(s)",
                    suggestions: [
                        "Give a phase from 1 to \(workflow.totalPhases), 0 for none, or leave it out for the current one"
                    ])
            }
            var out: [(HubEvent, Bool, String?)] = []
            // How delivery batches each type, read only when an event changes it.
            let readsBatching = prepared.contains { $0.input.changesBatching }
            var batching = BatchingSettings(
                json: readsBatching ? try tx.setting(EventSettingKey.batching) ?? .emptyObject : .emptyObject)
            let batchingBefore = batching
            // Events are stored a run at a time; a dedup id is looked up once the events before it are stored.
            var run: [EventToAppend] = []
            func store() throws {
                out += zip(try tx.append(run, timestamp: now), run).map { ($0, false, $1.serializedData) }
                run.removeAll(keepingCapacity: true)
            }
            for (input, id, data, preparedDraft) in prepared {
                let eventDraft = preparedDraft ?? draft(for: input, workflow: workflow)
                if let dedup = input.dedupId {
                    try store()
                    if let original = try tx.event(
                        dedupID: dedup, workflowID: eventDraft.workflowID, since: now - window)
                    {
                        out.append((original, true, nil))
                        continue
                    }
                }
                run.append(EventToAppend(draft: eventDraft, eventID: id, serializedData: data))
                if input.changesBatching {
                    // How delivery batches this type of the workflow's events from now on (§10): the
                    // workflow's own settings, never the hub's, which are configure-batching's (an
                    // agent token that may publish may not configure the hub).
                    guard let own = eventDraft.workflowID else {
                        throw HubError.parameter(
                            input.enableBatching != nil ? "enable_batching" : "batch_optimization",
                            "applies to a workflow's events; this event is about no workflow",
                            suggestions: ["Set hub-wide batching with 'coordination-hub configure-batching'"])
                    }
                    var rule = batching.rule(for: input.eventType, workflowID: own)
                    var fields: JSONValue = .emptyObject
                    if let enabled = input.enableBatching {
                        rule.enabled = enabled
                        fields["enabled"] = rule.json["enabled"] ?? .null
                    }
                    if let mode = input.batchOptimization {
                        switch (mode, rule.size) {
                        case ("adaptive", _): rule.size = .adaptive
                        case (_, .fixed): break  // fixed already, at the size configured
                        default: rule.size = .fixed(BatchingRule.standard.batchSize(queueDepth: 0))
                        }
                        fields["batch_size"] = rule.json["batch_size"] ?? .null
                    }
                    batching.override(own, eventTypes: [input.eventType], with: fields)
                }
            }
            try store()
            if batching != batchingBefore { try tx.setSetting(EventSettingKey.batching, batching.json) }
            return out
        }
        if p.events == nil, let (event, duplicate, _) = published.first {
            return OperationOutcome(
                result: [
                    "event_id": .string(event.eventID), "sequence": .int(event.sequence), "duplicate": .bool(duplicate),
                    "event": event.json,
                ])
        }
        // A batch's result is written straight to text: built as a tree, its hundred events
        // were about a quarter of the server's CPU in a publishing run (docs/PERFORMANCE.md).
        var writer = JSONWriter(capacity: 1024 * published.count + 64)
        writer.beginObject()
        writer.key("published")
        writer.int(published.count { !$0.1 })
        // duplicates: the ids of the events that were duplicates (SPEC §17), each the original's id.
        writer.key("duplicates")
        writer.beginArray()
        for (event, duplicate, _) in published where duplicate { writer.string(event.eventID) }
        writer.endArray()
        writer.key("events")
        writer.beginArray()
        for (event, duplicate, storedData) in published {
            writer.beginObject()
            event.writeMembers(to: &writer, compactData: storedData)
            writer.key("duplicate")
            writer.bool(duplicate)
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
        return OperationOutcome(serializedResult: writer.bytes)
    }

    static func validate(_ input: EventInput, field: String) throws(HubError) {
        if !isEventType(input.eventType) {
            throw HubError.parameter(
                field + "event_type", "must be lower_snake_case (a-z, 0-9, _; starting with a letter; at most 64)",
                suggestions: ["For example: build_finished"])
        }
        if let agent = input.agentId, !Identifier.isValid(agent) {
            throw HubError.parameter(field + "agent_id", "is not a valid id")
        }
        // The hub's own events carry this source; a client's event that did could not be told from them.
        if input.source == EventDraft.hubSource {
            throw HubError.parameter(
                field + "source", "is the hub's own source; name the publisher instead, or leave it out (client)")
        }
    }

    /// Refuses a filter's event type that no event can have (`Bad-Type` never matches).
    static func checkEventTypes(_ types: [String], field: String) throws(HubError) {
        for (n, type) in types.enumerated() where !isEventType(type) {
            throw HubError.parameter(
                "\(field)[\(n)]",
                "\"\(type.prefix(64))\" is not an event type (lower_snake_case), so it matches nothing")
        }
    }

    static func isEventType(_ text: String) -> Bool {
        guard let first = text.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first),
            text.utf8.count <= 64
        else { return false }
        return text.utf8.allSatisfy { c in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
                || c == UInt8(ascii: "_")
        }
    }

    /// A source usable as the component segment of `hub.<component>.<type>`.
    static func component(_ source: String?) -> String {
        guard let source, !source.isEmpty, source.utf8.count <= 64,
            source.utf8.allSatisfy({ c in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
                    || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
            })
        else { return "client" }
        return source
    }

    static func draft(for input: EventInput, workflow: Workflow?) -> EventDraft {
        let subject: String
        if let agent = input.agentId {
            subject = "agent.\(agent).\(input.eventType)"
        } else if let workflow {
            subject = "workflow.\(workflow.id).\(input.eventType)"
        } else {
            subject = "hub.\(component(input.source)).\(input.eventType)"
        }
        return EventDraft(
            eventType: input.eventType, workflowID: workflow?.id, phase: input.phase ?? workflow?.currentPhase ?? 0,
            severity: input.severity ?? .info, source: input.source ?? "client", data: input.data ?? .emptyObject,
            subject: subject,
            metadata: EventMetadata(
                correlationID: input.metadata?.correlationId ?? workflow?.correlationID,
                causationID: input.metadata?.causationId, tags: input.metadata?.tags ?? []),
            dedupID: input.dedupId)
    }
}

/// Reading validated members directly: each returns nil on anything the schema should have
/// refused, and the caller then decodes the general way (which reports it).
extension PublishEvent.EventInput {
    init?(validated m: JSONValue, requireType: Bool) {
        guard case .object = m else { return nil }
        func string(_ key: String) -> String?? { m.validatedString(key) }
        guard let type = string("event_type"), let source = string("source"), let agent = string("agent_id"),
            let dedup = string("dedup_id"), let optimization = string("batch_optimization"),
            let severity = string("severity")
        else { return nil }
        if requireType && type == nil { return nil }
        eventType = type ?? ""
        self.source = source
        agentId = agent
        dedupId = dedup
        batchOptimization = optimization
        switch severity {
        case nil: self.severity = nil
        case let text?:
            guard let value = Severity(rawValue: text) else { return nil }
            self.severity = value
        }
        switch m["data"] {
        case nil, .null?: data = nil
        case let value?: data = value
        }
        switch m["phase"] {
        case nil, .null?: phase = nil
        case let value?:
            guard let n = value.intValue, let phase = Int(exactly: n) else { return nil }
            self.phase = phase
        }
        switch m["enable_batching"] {
        case nil, .null?: enableBatching = nil
        case .bool(let b)?: enableBatching = b
        default: return nil
        }
        switch m["metadata"] {
        case nil, .null?: metadata = nil
        case .object?:
            guard let meta = m["metadata"], let input = PublishEvent.MetadataInput(validated: meta) else { return nil }
            metadata = input
        default: return nil
        }
    }
}

extension PublishEvent.MetadataInput {
    init?(validated m: JSONValue) {
        func string(_ key: String) -> String?? { m.validatedString(key) }
        guard let correlation = string("correlation_id"), let causation = string("causation_id") else { return nil }
        correlationId = correlation
        causationId = causation
        switch m["tags"] {
        case nil, .null?: tags = nil
        case .array(let items)?:
            var list: [String] = []
            for item in items {
                guard case .string(let tag) = item else { return nil }
                list.append(tag)
            }
            tags = list
        default: return nil
        }
    }
}

extension JSONValue {
    /// A member that must be a string or absent: `.some(nil)` when absent or null, nil when
    /// it is something else.
    fileprivate func validatedString(_ key: String) -> String?? {
        switch self[key] {
        case nil, .null?: return .some(nil)
        case .string(let s)?: return .some(s)
        default: return nil
        }
    }
}

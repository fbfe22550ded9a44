/// An event as stored in the log (§4): immutable once appended.
public struct HubEvent: Sendable, Equatable {
    /// `evt_…`.
    public var eventID: String
    /// Strictly increasing across the store.
    public var sequence: Int64
    /// lower_snake_case.
    public var eventType: String
    /// `nil` for events about no workflow (agent events).
    public var workflowID: String?
    public var phase: Int
    public var severity: Severity
    public var source: String
    /// Milliseconds since 1970.
    public var timestamp: Int64
    public var data: JSONValue
    public var subject: String
    public var metadata: EventMetadata
    public var dedupID: String?

    public init(
        eventID: String, sequence: Int64, eventType: String, workflowID: String?, phase: Int, severity: Severity,
        source: String, timestamp: Int64, data: JSONValue, subject: String, metadata: EventMetadata,
        dedupID: String?
    ) {
        self.eventID = eventID
        self.sequence = sequence
        self.eventType = eventType
        self.workflowID = workflowID
        self.phase = phase
        self.severity = severity
        self.source = source
        self.timestamp = timestamp
        self.data = data
        self.subject = subject
        self.metadata = metadata
        self.dedupID = dedupID
    }

    /// The id the seed's routing key and message put in the workflow slot: the
    /// workflow id, or for events about no workflow the subject's entity (the agent id).
    public var routingEntity: String {
        if let workflowID { return workflowID }
        // The second of at least three dot-separated parts.
        let utf8 = subject.utf8
        guard let firstDot = utf8.firstIndex(of: UInt8(ascii: ".")),
            let secondDot = utf8[utf8.index(after: firstDot)...].firstIndex(of: UInt8(ascii: "."))
        else { return "hub" }
        return String(subject[utf8.index(after: firstDot)..<secondDot])
    }

    /// `event_type.workflow_id.phase`, as in the seed.
    public var routingKey: String { routingKeyParts(entity: routingEntity).joined() }

    /// `EVENT_TYPE:workflow_id:phase:data`, type upper-cased, data as compact JSON.
    public var message: String { messageParts(entity: routingEntity, compactData: data.serialized(.compact)).joined() }

    /// The pieces of ``routingKey``, written one after another without joining them.
    private func routingKeyParts(entity: String) -> [String] { [eventType, ".", entity, ".", String(phase)] }

    /// The pieces of ``message``, written one after another without joining them.
    private func messageParts(entity: String, compactData: String) -> [String] {
        [eventType.uppercased(), ":", entity, ":", String(phase), ":", compactData]
    }

    /// The event as the API shows it.
    public var json: JSONValue {
        // Every member, null or empty when unset (§4): a client's event about no workflow had `{}`.
        let metadata: JSONValue = [
            "correlation_id": .optional(self.metadata.correlationID),
            "causation_id": .optional(self.metadata.causationID),
            "tags": .strings(self.metadata.tags),
        ]
        var out: JSONValue = [
            "event_id": .string(eventID),
            "sequence": .int(sequence),
            "event_type": .string(eventType),
            "workflow_id": .optional(workflowID),
            "phase": .count(phase),
            "severity": .string(severity.rawValue),
            "source": .string(source),
            "timestamp": .string(Timestamp.format(milliseconds: timestamp)),
            "subject": .string(subject),
            "routing_key": .string(routingKey),
            "message": .string(message),
            "data": data,
            "metadata": metadata,
        ]
        if let dedupID { out["dedup_id"] = .string(dedupID) }
        return out
    }

    /// The members of ``json``, in its order, written to `writer` (inside an object the
    /// caller opens, so it can add members of its own). `compactData` is `data` as
    /// compact JSON text, when the caller has it: it is then neither built nor
    /// serialized again, for `data` or for `message`.
    public func writeMembers(to writer: inout JSONWriter, compactData: String? = nil) {
        let dataText = compactData ?? data.serialized(.compact)
        writer.key("event_id")
        writer.string(eventID)
        writer.key("sequence")
        writer.int(sequence)
        writer.key("event_type")
        writer.string(eventType)
        writer.key("workflow_id")
        writer.string(workflowID)
        writer.key("phase")
        writer.int(phase)
        writer.key("severity")
        writer.string(severity.rawValue)
        writer.key("source")
        writer.string(source)
        writer.key("timestamp")
        writer.string(Timestamp.format(milliseconds: timestamp))
        writer.key("subject")
        writer.string(subject)
        let entity = routingEntity
        writer.key("routing_key")
        writer.string(concatenating: routingKeyParts(entity: entity))
        writer.key("message")
        writer.string(concatenating: messageParts(entity: entity, compactData: dataText))
        writer.key("data")
        writer.raw(dataText)
        writer.key("metadata")
        writer.beginObject()
        writer.key("correlation_id")
        writer.string(metadata.correlationID)
        writer.key("causation_id")
        writer.string(metadata.causationID)
        writer.key("tags")
        writer.beginArray()
        for tag in metadata.tags { writer.string(tag) }
        writer.endArray()
        writer.endObject()
        if let dedupID {
            writer.key("dedup_id")
            writer.string(dedupID)
        }
    }
}

/// Correlation and causation of an event (§16).
public struct EventMetadata: Sendable, Equatable {
    public var correlationID: String?
    public var causationID: String?
    public var tags: [String]

    public init(correlationID: String? = nil, causationID: String? = nil, tags: [String] = []) {
        self.correlationID = correlationID
        self.causationID = causationID
        self.tags = tags
    }
}

/// An event about to be appended: everything but the id, sequence and time,
/// which the store assigns in the appending transaction.
public struct EventDraft: Sendable, Equatable {
    public var eventType: String
    public var workflowID: String?
    public var phase: Int
    public var severity: Severity
    public var source: String
    public var data: JSONValue
    public var subject: String
    public var metadata: EventMetadata
    public var dedupID: String?

    /// The source of the hub's own events; clients may not publish under it.
    public static let hubSource = "coordination-hub"

    public init(
        eventType: String, workflowID: String?, phase: Int, severity: Severity = .info,
        source: String = EventDraft.hubSource, data: JSONValue = .emptyObject, subject: String,
        metadata: EventMetadata = .init(), dedupID: String? = nil
    ) {
        self.eventType = eventType
        self.workflowID = workflowID
        self.phase = phase
        self.severity = severity
        self.source = source
        self.data = data
        self.subject = subject
        self.metadata = metadata
        self.dedupID = dedupID
    }

    /// An event of the hub's own about a workflow, on `workflow.<id>.<type>`.
    public static func workflow(
        _ type: String, _ workflow: Workflow, severity: Severity = .info, data: JSONValue = .emptyObject,
        causedBy cause: String? = nil
    ) -> EventDraft {
        EventDraft(
            eventType: type, workflowID: workflow.id, phase: workflow.currentPhase, severity: severity,
            data: data, subject: "workflow.\(workflow.id).\(type)",
            metadata: EventMetadata(correlationID: workflow.correlationID, causationID: cause))
    }

    /// An event of the hub's own about an agent, on `agent.<id>.<type>` (no workflow, phase 0),
    /// with the agent's correlation id (``agentCorrelationID(_:)``) as a workflow's events
    /// carry the workflow's.
    public static func agent(
        _ type: String, _ agentID: String, severity: Severity = .info, data: JSONValue = .emptyObject,
        causedBy cause: String? = nil
    ) -> EventDraft {
        EventDraft(
            eventType: type, workflowID: nil, phase: 0, severity: severity, data: data,
            subject: "agent.\(agentID).\(type)",
            metadata: EventMetadata(correlationID: agentCorrelationID(agentID), causationID: cause))
    }

    /// The `correlation_id` every event about the agent carries: `corr_agent_<agent id>`,
    /// the same through the agent's registrations, failures and recoveries.
    public static func agentCorrelationID(_ agentID: String) -> String { "corr_agent_\(agentID)" }
}

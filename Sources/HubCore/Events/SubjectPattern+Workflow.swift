extension SubjectPattern {
    /// The patterns that match exactly the subjects of workflow `id`'s events
    /// (`workflow.<id>.<event_type>`) that this pattern matches: `workflow.<id>.*` when it matches
    /// every event type there, else `workflow.<id>.<type>` for each type it names and matches
    /// there, none when it matches no subject of the workflow (`agent.*.failed`).
    ///
    /// Subjects have three segments and ids no dots, so `workflow.<id>.*` (with its implicit
    /// leading `#`) matches nothing else. An event type the pattern does not name is tried as
    /// `*`, which no literal segment equals: what the pattern does with it, it does with every
    /// type it does not name (as ``covers(_:)`` reasons).
    public func narrowed(toWorkflow id: String) -> [String] {
        let prefix = "workflow.\(id)."
        if matches(prefix + "*") { return [prefix + "*"] }
        var named: [String] = []
        // A type too long to make a pattern of is far longer than any event type: nothing to match.
        for case .literal(let type) in segments
        where !named.contains(type) && prefix.count + type.count <= Self.maximumLength && matches(prefix + type) {
            named.append(type)
        }
        return named.map { prefix + $0 }
    }
}

extension TrackRecord {
    /// The complete record, as a store keeps it.
    public var storedJSON: JSONValue {
        var types: JSONValue = .emptyObject
        for name in byType.keys.sorted() {
            let c = byType[name] ?? Counts()
            types[name] = ["completed": .count(c.completed), "failed": .count(c.failed)]
        }
        return [
            "completed": .count(tasksCompleted), "failed": .count(tasksFailed), "total_ms": .int(totalMilliseconds),
            "completed_ms": .optional(completedMilliseconds),
            "recent": .array(
                recent.map { o in
                    [
                        "succeeded": .bool(o.succeeded), "ms": .int(o.milliseconds),
                        "estimate_ms": .optional(o.estimateMilliseconds),
                        "type": .optional(o.taskType),
                    ]
                }),
            "by_type": types,
        ]
    }

    /// Reads the form ``storedJSON`` writes; missing parts read as empty.
    public init(storedJSON json: JSONValue) {
        self.init()
        tasksCompleted = Int(json["completed"]?.intValue ?? 0)
        tasksFailed = Int(json["failed"]?.intValue ?? 0)
        totalMilliseconds = json["total_ms"]?.intValue ?? 0
        // Kept before completed tasks' time was counted: known only when nothing had completed.
        completedMilliseconds = json["completed_ms"]?.intValue ?? (tasksCompleted == 0 ? 0 : nil)
        recent = (json["recent"]?.arrayValue ?? []).map { o in
            Outcome(
                succeeded: o["succeeded"]?.boolValue ?? false, milliseconds: o["ms"]?.intValue ?? 0,
                estimateMilliseconds: o["estimate_ms"]?.intValue, taskType: o["type"]?.stringValue)
        }
        for (name, c) in json["by_type"]?.objectValue ?? [:] {
            byType[name] = Counts(
                completed: Int(c["completed"]?.intValue ?? 0), failed: Int(c["failed"]?.intValue ?? 0))
        }
    }
}

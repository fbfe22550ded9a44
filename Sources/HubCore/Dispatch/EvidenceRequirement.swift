/// What a task must show before `complete-task` is accepted (§16, verified completion).
public struct EvidenceRequirement: Sendable, Equatable {
    /// Paths (relative to the workspace) that must exist; their SHA-256 is recorded.
    public var files: [String]
    /// Whether a git commit id, which must exist in the workspace repository, must be supplied.
    public var commit: Bool
    /// A command the hub runs in the workspace; exit 0 is required.
    public var checkCommand: String?

    public init(files: [String] = [], commit: Bool = false, checkCommand: String? = nil) {
        self.files = files
        self.commit = commit
        self.checkCommand = checkCommand
    }

    /// Reads `{"files": [...], "commit": true, "check_command": "..."}`; `nil` when nothing is required.
    public init?(json: JSONValue?) {
        guard let json, case .object = json else { return nil }
        self.init(
            files: json["files"]?.arrayValue?.compactMap(\.stringValue) ?? [],
            commit: json["commit"]?.boolValue ?? false,
            checkCommand: json["check_command"]?.stringValue)
        if files.isEmpty && !commit && checkCommand == nil { return nil }
    }

    /// The requirement's schema, for task definitions.
    public static let schema = Schema.object(
        [
            .init(
                "files",
                .array(.string(maxLength: 4096), "Workspace paths that must exist at completion.", maxItems: 1000)),
            .init(
                "commit",
                .boolean(
                    "{\"commit\": true} here: complete-task must then supply a git commit id that exists in the workspace repository, as its evidence {\"commit\": \"<sha>\"}; the task never holds the id."
                ).hinting(
                    "a task requires a commit with {\"commit\": true}; the commit id itself comes with complete-task's evidence, {\"commit\": \"<sha>\"}"
                )),
            .init(
                "check_command",
                .string("Run by the hub in the workspace with /bin/sh -c; exit 0 required.", maxLength: 100_000)),
        ], "What complete-task must show (verified completion); complete-task's own evidence carries the values.")
}

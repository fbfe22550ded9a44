import Foundation

/// The commit checked out in a git working tree, as `git rev-parse --verify -q HEAD` tells it.
public enum GitHead: Equatable, Sendable {
    /// The commit id HEAD names.
    case commit(String)
    /// A repository without a commit yet (HEAD names a branch with none).
    case unborn
    /// Not a repository git can use there (or no git): nothing is known.
    case unknown

    /// Reads HEAD in `directory` (the current directory when `nil`).
    public static func read(in directory: String?) async -> GitHead {
        let outcome = await ChildProcess.run(
            ["git", "rev-parse", "--verify", "-q", "HEAD"], environment: ProcessInfo.processInfo.environment,
            directory: directory, tailBytes: 256)
        let head = outcome.tail.trimmingCharacters(in: .whitespacesAndNewlines)
        if outcome.status == 0 && head.count >= 40 && head.allSatisfy(\.isHexDigit) { return .commit(head) }
        // -q makes an unborn HEAD a quiet exit 1; git's own refusals (no repository, an unsafe one) exit 128.
        return outcome.status == 1 && head.isEmpty ? .unborn : .unknown
    }

    /// The commit id, or `nil`.
    public var commit: String? {
        if case .commit(let id) = self { id } else { nil }
    }
}

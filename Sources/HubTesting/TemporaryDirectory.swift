import Foundation

/// A fresh directory under the system's temporary directory, removed by ``remove()``.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(_ label: String = "hub") throws {
        let base = FileManager.default.temporaryDirectory.path
        path = "\(base)/coordination-hub-\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// A path inside the directory.
    public func file(_ name: String) -> String { "\(path)/\(name)" }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Removes a temporary directory when it is released: held by a suite that keeps its
/// directory in a property, it removes it when the suite's instance goes after its test.
public final class DirectoryCleanup: Sendable {
    let directory: TemporaryDirectory

    public init(_ directory: TemporaryDirectory) { self.directory = directory }

    deinit { directory.remove() }
}

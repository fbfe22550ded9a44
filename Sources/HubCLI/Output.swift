import Foundation

/// Where the command line writes: injected so tests can read what a command printed.
public protocol OutputSink: Sendable {
    func write(_ text: String)
}

/// A file descriptor's stream (standard output or standard error).
public struct FileHandleSink: OutputSink {
    let handle: FileHandle
    public static let standardOutput = FileHandleSink(handle: .standardOutput)
    public static let standardError = FileHandleSink(handle: .standardError)
    public func write(_ text: String) { handle.write(Data(text.utf8)) }
}

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

    /// Writes `text`. Once the reader is gone (`… | head` closed the pipe) nothing can be said
    /// anywhere, so the process ends as SIGPIPE would have ended it (status 141): Foundation's
    /// `write(_: Data)` trapped with "Broken pipe" where the signal is ignored.
    public func write(_ text: String) {
        do {
            try handle.write(contentsOf: Data(text.utf8))
        } catch {
            exit(141)
        }
    }
}

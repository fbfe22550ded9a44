import Foundation

/// A child process of this executable, spoken to by lines on its standard input and output
/// (its standard error is this process's).
final class ChildProcess: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    private let output: LineReader

    /// Starts this executable again with `arguments`.
    init(arguments: [String]) throws(LoadError) {
        let pipe = Pipe()
        output = LineReader(pipe.fileHandleForReading)
        process.executableURL = ChildProcess.ownExecutable()
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = pipe
        process.standardError = FileHandle.standardError
        do {
            try process.run()
        } catch {
            throw LoadError("cannot start \(process.executableURL?.path ?? "hub-load"): \(error.localizedDescription)")
        }
    }

    /// The next line the child writes, `nil` once its output is closed.
    func readLine() async -> String? { await output.nextLine() }

    func writeLine(_ line: String) {
        input.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    /// Waits for the child to end; its exit status.
    func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                self.process.waitUntilExit()
                continuation.resume(returning: self.process.terminationStatus)
            }
        }
    }

    func terminate() { if process.isRunning { process.terminate() } }

    /// This executable (through /proc/self/exe on Linux, where argv[0] may be relative).
    private static func ownExecutable() -> URL {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: path)
        }
        return Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
    }
}

/// Reads lines from a file handle on a dispatch thread, so a blocking read holds no task thread.
final class LineReader: @unchecked Sendable {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private let queue = DispatchQueue(label: "hub-load.line-reader")

    init(_ handle: FileHandle) { self.handle = handle }

    func nextLine() async -> String? {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.readLineBlocking()) }
        }
    }

    private func readLineBlocking() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            let chunk = handle.availableData
            if chunk.isEmpty {
                guard !buffer.isEmpty else { return nil }
                defer { buffer.removeAll() }
                return String(decoding: buffer, as: UTF8.self)
            }
            buffer.append(contentsOf: chunk)
        }
    }
}

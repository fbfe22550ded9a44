import Foundation

/// Runs a command as a child process and keeps the tail of its output: the agent
/// runner's tasks, evidence checks and dependency checks (the one place processes are spawned).
public enum ChildProcess {
    public struct Outcome: Sendable {
        public var status: Int32
        public var tail: String
    }

    /// Runs `arguments` (an absolute path or a name looked up by `/usr/bin/env`) and waits for it.
    public static func run(_ arguments: [String], environment: [String: String], directory: String?, tailBytes: Int)
        async
        -> Outcome
    {
        guard let first = arguments.first else { return Outcome(status: 127, tail: "no command") }
        let process = Process()
        if first.hasPrefix("/") {
            process.executableURL = URL(fileURLWithPath: first)
            process.arguments = Array(arguments.dropFirst())
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = arguments
        }
        process.environment = environment
        if let directory, FileManager.default.fileExists(atPath: directory) {
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return Outcome(status: 127, tail: "cannot start \(first): \(error.localizedDescription)")
        }
        let output: Data = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: Data(pipe.fileHandleForReading.readToEndRetryingInterrupts()))
            }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                process.waitUntilExit()
                continuation.resume()
            }
        }
        let tail = String(decoding: output.suffix(tailBytes), as: UTF8.self)
        let status =
            process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return Outcome(status: status, tail: tail)
    }
}

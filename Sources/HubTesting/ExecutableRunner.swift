import Foundation
import HubCore
import HubEngine

/// Runs the built `coordination-hub` executable as a user would, in a directory.
public struct ExecutableRunner: Sendable {
    /// What one run printed and answered.
    public struct Outcome: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
        /// Standard output parsed as JSON (`null` when it is not JSON).
        public var json: JSONValue { (try? JSONParser.parse(stdout)) ?? .null }
        /// `error.code` of the response, if any.
        public var errorCode: String? { json["error"]?["code"]?.stringValue }
    }

    public let executable: String
    public let workingDirectory: String
    public var environment: [String: String]

    /// Finds the executable beside the test bundle (`.build/<config>/coordination-hub`), or
    /// the one `named` beside it (`coordination-hub-mcp`).
    public init(workingDirectory: String, environment: [String: String] = [:], named: String? = nil) {
        let main = Self.locateExecutable()
        self.executable =
            named.map { URL(fileURLWithPath: main).deletingLastPathComponent().appendingPathComponent($0).path } ?? main
        self.workingDirectory = workingDirectory
        var env = ProcessInfo.processInfo.environment
        // The developer's own settings must not leak into the runs.
        for key in env.keys where key.hasPrefix("COORDINATION_HUB_") && key != "COORDINATION_HUB_EXECUTABLE" {
            env[key] = nil
        }
        for (k, v) in environment { env[k] = v }
        self.environment = env
    }

    public static func locateExecutable() -> String {
        if let explicit = ProcessInfo.processInfo.environment["COORDINATION_HUB_EXECUTABLE"] { return explicit }
        var url = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = url.appendingPathComponent("coordination-hub").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            url = url.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("coordination-hub").path
    }

    /// Starts the executable with `arguments` and returns at once: for long-running commands
    /// (`serve`, `follow`, `mcp`, `agent`) that a test talks to through the pipes (or files)
    /// it passes, a `Pipe` or a `FileHandle` each. A pipe's end the child uses is closed
    /// here once it has its copy, so the test sees the end of what the child writes when
    /// the child goes. Standard streams not passed are the null device.
    public func start(
        _ arguments: [String], standardInput: Any? = nil, standardOutput: Any? = nil, standardError: Any? = nil
    ) throws -> SpawnedProcess {
        let ends = [
            Self.childEnd(standardInput, reading: true), Self.childEnd(standardOutput, reading: false),
            Self.childEnd(standardError, reading: false),
        ]
        let process = try SpawnedProcess.spawn(
            executable, arguments: arguments, environment: environment, directory: workingDirectory,
            standardInput: ends[0].stream, standardOutput: ends[1].stream, standardError: ends[2].stream)
        for case let handle? in ends.map(\.closeAfterStart) { try? handle.close() }
        return process
    }

    /// Where a stream passed to ``start(_:standardInput:standardOutput:standardError:)``
    /// goes, and the pipe end to close once the child has it.
    private static func childEnd(_ stream: Any?, reading: Bool) -> (
        stream: SpawnedProcess.Stream, closeAfterStart: FileHandle?
    ) {
        switch stream {
        case let pipe as Pipe:
            let end = reading ? pipe.fileHandleForReading : pipe.fileHandleForWriting
            return (.descriptor(end.fileDescriptor), end)
        case let handle as FileHandle: return (.descriptor(handle.fileDescriptor), nil)
        default: return (.null, nil)
        }
    }

    /// Runs the executable with `arguments`, feeding `stdin`, and waits for it to exit.
    public func run(_ arguments: [String], stdin: String? = nil) throws -> Outcome {
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        let process = try start(arguments, standardInput: input, standardOutput: out, standardError: err)
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read both pipes to the end before waiting, so a large output cannot block the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData: [UInt8] = []
        group.enter()
        Thread.detachNewThread {
            errData = err.fileHandleForReading.readToEndRetryingInterrupts()
            group.leave()
        }
        let outData = out.fileHandleForReading.readToEndRetryingInterrupts()
        group.wait()
        process.waitUntilExit()
        try? out.fileHandleForReading.close()
        try? err.fileHandleForReading.close()
        return Outcome(
            status: process.termination?.status ?? -1, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}

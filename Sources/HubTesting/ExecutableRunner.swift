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

    /// Finds the executable beside the test bundle (`.build/<config>/coordination-hub`).
    public init(workingDirectory: String, environment: [String: String] = [:]) {
        self.executable = Self.locateExecutable()
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
    /// it passes, as `Process` takes them. Standard streams not passed are the null device.
    public func start(
        _ arguments: [String], standardInput: Any? = nil, standardOutput: Any? = nil, standardError: Any? = nil
    ) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory)
        process.environment = environment
        process.standardInput = standardInput ?? FileHandle.nullDevice
        process.standardOutput = standardOutput ?? FileHandle.nullDevice
        process.standardError = standardError ?? FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Runs the executable with `arguments`, feeding `stdin`, and waits for it to exit.
    public func run(_ arguments: [String], stdin: String? = nil) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory)
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read both pipes to the end before waiting, so a large output cannot block the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData: [UInt8] = []
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readToEndRetryingInterrupts()
            group.leave()
        }
        let outData = out.fileHandleForReading.readToEndRetryingInterrupts()
        group.wait()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}

import Foundation
import HubCore

/// Writes files whole or not at all: into a temporary file beside the state,
/// fsynced, then renamed into place.
enum FileWriter {
    /// Writes `bytes` to `path` atomically, creating parent directories.
    static func write(_ bytes: [UInt8], to path: String, temporaryDirectory: String) throws(HubError) {
        let fm = FileManager.default
        let temp = (temporaryDirectory as NSString).appendingPathComponent(".tmp-\(UUID().uuidString)")
        do {
            try fm.createDirectory(atPath: temporaryDirectory, withIntermediateDirectories: true)
            try fm.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            guard fm.createFile(atPath: temp, contents: Data(bytes)) else {
                throw HubError(.storeUnavailable, "Cannot write \(temp)")
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temp))
            try handle.synchronize()
            try handle.close()
            if fm.fileExists(atPath: path) {
                // POSIX rename replaces atomically; Foundation's replaceItemAt fails on Linux and loses the old file.
                if let code = FileSystem.rename(temp, over: path) {
                    throw HubError(
                        .storeUnavailable, "Cannot write \(path): rename failed with errno \(code)",
                        details: "Check that the directory is writable and the disk has space.",
                        suggestions: ["Check the permissions of \((path as NSString).deletingLastPathComponent)"])
                }
            } else {
                try fm.moveItem(atPath: temp, toPath: path)
            }
        } catch let error as HubError {
            try? fm.removeItem(atPath: temp)
            throw error
        } catch {
            try? fm.removeItem(atPath: temp)
            throw HubError(
                .storeUnavailable, "Cannot write \(path): \(error.localizedDescription)",
                details: "Check that the directory is writable and the disk has space.",
                suggestions: ["Check the permissions of \((path as NSString).deletingLastPathComponent)"])
        }
    }

    /// Writes a JSON document (pretty, for people and other tools).
    static func write(_ json: JSONValue, to path: String, temporaryDirectory: String) throws(HubError) {
        var bytes = json.serializedBytes(.pretty)
        bytes.append(0x0A)
        try write(bytes, to: path, temporaryDirectory: temporaryDirectory)
    }
}

import CompressNIO
import Foundation
import HubCore
import NIOCore

/// The portable bundle `save-state` writes and `load-state` reads (§6): one JSON
/// document carrying the workflow's complete state, its events and checkpoints (with
/// the contents of their files), each section with its own SHA-256; gzip-compressed
/// when asked.
enum StateBundle {
    static let format = "coordination-hub-bundle"
    static let formatVersion: Int64 = 1
    /// Largest bundle `load-state` reads, compressed or not. 1 GiB.
    static let maximumSize = 1 << 30

    /// The bundle document for a workflow.
    static func document(
        snapshot: WorkflowSnapshot, pool: [String], events: [HubEvent], checkpoints: [JSONValue]?,
        checkpointContents: JSONValue? = nil, createdAt: Int64
    ) -> JSONValue {
        var sections: JSONValue = [
            "workflow": snapshot.json, "pool": .strings(pool.sorted()), "events": .array(events.map(\.json)),
        ]
        if let checkpoints { sections["checkpoints"] = .array(checkpoints) }
        if let checkpointContents { sections["checkpoint_contents"] = checkpointContents }
        var checksums: JSONValue = .emptyObject
        for (name, value) in sections.objectValue ?? [:] {
            checksums[name] = .string(Checksum.sha256(canonical: value))
        }
        return [
            "format": .string(format), "format_version": .int(formatVersion),
            "workflow_id": .string(snapshot.workflow.id), "state_version": .int(snapshot.workflow.stateVersion),
            "created_at": .string(Timestamp.format(milliseconds: createdAt)),
            "sections": sections, "checksums": checksums,
        ]
    }

    /// The bundle's bytes; `INVALID_PARAMETERS` past ``maximumSize``, which `load-state` would refuse.
    static func encode(_ document: JSONValue, compress: Bool) throws(HubError) -> [UInt8] {
        let bytes = document.serializedBytes(.compact)
        guard bytes.count <= maximumSize else {
            throw HubError(
                .invalidParameters,
                "The bundle would be \(bytes.count) bytes, more than the \(maximumSize) load-state reads; nothing was written",
                details: "Checkpoints with files carry those files' contents.",
                context: ["field": "include_checkpoints", "size": .count(bytes.count)],
                suggestions: ["Save without include_checkpoints, or remove checkpoints you no longer need"])
        }
        guard compress else { return bytes }
        var buffer = ByteBuffer(bytes: bytes)
        do {
            var out = try buffer.compress(with: .gzip())
            return out.readBytes(length: out.readableBytes) ?? []
        } catch {
            throw HubError.internal("gzip compression failed: \(error)")
        }
    }

    /// Reads a bundle file; with `verify`, every section's checksum is checked.
    /// Throws `CHECKPOINT_CORRUPT` for a truncated, tampered or foreign file.
    static func read(path: String, verify: Bool) throws(HubError) -> (document: JSONValue, snapshot: WorkflowSnapshot) {
        func corrupt(_ why: String) -> HubError {
            HubError(
                .checkpointCorrupt, "Bundle \(path) is corrupt: \(why)",
                details: "The bundle cannot be trusted; nothing was loaded.",
                context: ["newest_valid_checkpoint": .null],
                suggestions: ["Load another bundle", "Write a fresh one with 'save-state' and backup_location"])
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HubError(
                .checkpointNotFound, "No bundle at \(path)", details: "Check the path.",
                suggestions: ["Write one with 'save-state' and backup_location"])
        }
        guard data.count <= maximumSize else { throw corrupt("larger than \(maximumSize) bytes") }
        var bytes = [UInt8](data)
        if bytes.starts(with: [0x1F, 0x8B]) {
            do {
                bytes = try gunzip(bytes, maxSize: maximumSize)
            } catch {
                switch error {
                case .damaged: throw corrupt("the gzip stream is damaged")
                case .truncated: throw corrupt("the gzip stream is truncated (it ends before its CRC-32 and size)")
                case .trailingData(let n): throw corrupt("\(n) bytes follow the end of the gzip stream")
                case .tooLarge: throw corrupt("its contents are larger than \(maximumSize) bytes")
                }
            }
        }
        let document: JSONValue
        do {
            // Payloads were held to the parser's depth in their requests; the bundle wraps them in a few more levels.
            document = try JSONParser.parse(bytes: bytes, extraDepth: 16)
        } catch {
            throw corrupt("not valid JSON (\(error.description))")
        }
        guard document["format"]?.stringValue == format else { throw corrupt("not a coordination-hub bundle") }
        // A later format may mean the same fields differently: read as this one, it loaded as version 1.
        guard let version = document["format_version"]?.intValue, version == formatVersion else {
            let shown = document["format_version"].map { $0.serialized(.compact) } ?? "missing"
            throw corrupt(
                "its format_version is \(shown.prefix(64)); this hub reads format_version \(formatVersion) only")
        }
        guard let sections = document["sections"], let checksums = document["checksums"],
            let workflow = sections["workflow"]
        else {
            throw corrupt("sections or checksums missing")
        }
        if verify {
            for (name, value) in sections.objectValue ?? [:] {
                guard let expected = checksums[name]?.stringValue, expected == Checksum.sha256(canonical: value) else {
                    throw corrupt("the checksum of section '\(name)' does not match its contents")
                }
            }
            // A section taken out with its checksum left behind is a bundle cut short too.
            for name in (checksums.objectValue ?? [:]).keys where sections[name] == nil {
                throw corrupt("section '\(name)' is missing (its checksum is there)")
            }
        }
        do {
            return (document, try WorkflowSnapshot(json: workflow))
        } catch {
            throw corrupt(error.message)
        }
    }
}

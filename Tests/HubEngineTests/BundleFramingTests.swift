import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

/// A bundle is read whole or not at all: its gzip framing and its format version.
@Suite struct BundleFramingTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    /// Damage to a gzip bundle's framing: each was loaded (two as verified) or misreported.
    @Test(arguments: ["no trailer", "junk after", "second member", "cut inside", "wrong crc"])
    func aDamagedGzipBundleIsCorrupt(_ damage: String) async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}]}]}"#)
        let saved = await t.run("w1", "save-state", #"{"backup_location": "w1.gz", "compress": true}"#)
        let path = try #require(saved.result["bundle"]?["path"]?.stringValue)
        let bytes = [UInt8](try #require(FileManager.default.contents(atPath: path)))
        let damaged: [UInt8]
        let expected: String
        switch damage {
        case "no trailer": (damaged, expected) = (Array(bytes.dropLast(8)), "truncated")
        case "junk after": (damaged, expected) = (bytes + Array("junk".utf8), "follow the end")
        case "second member": (damaged, expected) = (bytes + bytes, "follow the end")
        case "cut inside": (damaged, expected) = (Array(bytes.prefix(bytes.count * 2 / 3)), "truncated")
        default:
            var wrong = bytes
            wrong[wrong.count - 8] ^= 0xFF
            (damaged, expected) = (wrong, "damaged")
        }
        try Data(damaged).write(to: URL(fileURLWithPath: path))
        let refused = await t.run("w1", "load-state", #"{"bundle": "w1.gz"}"#)
        #expect(refused.errorCode == "CHECKPOINT_CORRUPT", "\(refused.json)")
        #expect(refused.error?.message.contains(expected) == true, "\(refused.json)")
        // Whole again, it loads.
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(await t.run("w1", "load-state", #"{"bundle": "w1.gz"}"#).succeeded)
    }

    /// A bundle of a format version this hub does not know was loaded as version 1.
    @Test(arguments: [JSONValue.int(99), .int(0), "1", .null])
    func anUnknownFormatVersionIsRefused(_ version: JSONValue) async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let saved = await t.run("w1", "save-state", #"{"backup_location": "w1.json", "compress": false}"#)
        let path = try #require(saved.result["bundle"]?["path"]?.stringValue)
        var document = try JSONParser.parse(bytes: [UInt8](try #require(FileManager.default.contents(atPath: path))))
        document["format_version"] = version
        try Data(document.serializedBytes(.compact)).write(to: URL(fileURLWithPath: path))
        let refused = await t.run("w1", "load-state", #"{"bundle": "w1.json"}"#)
        #expect(refused.errorCode == "CHECKPOINT_CORRUPT", "\(refused.json)")
        #expect(refused.error?.message.contains("format_version") == true, "\(refused.json)")
    }
}

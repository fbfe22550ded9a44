import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Found by a probe: names that differ only in Unicode normalization (an NFC `é`, bytes c3 a9,
/// and an NFD one, 65 cc 81) are two files on Linux but one Swift `String`. A checkpoint kept
/// one of the two, and a restore left in place a file its globs covered but it did not hold.
@Suite struct UnicodeFileNameTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    static let nfc = "\u{E9}.txt"
    static let nfd = "e\u{301}.txt"

    var workspace: String { t.directory.path }

    /// Writes through open(2), so the name's bytes reach the file system as they are.
    func put(_ name: String, _ text: String) throws {
        let fd = open(workspace + "/" + name, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try #require(fd >= 0, "cannot create \(name)")
        defer { close(fd) }
        let bytes = Array(text.utf8)
        try #require(write(fd, bytes, bytes.count) == bytes.count)
    }

    func get(_ name: String) -> String? {
        let fd = open(workspace + "/" + name, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &buffer, buffer.count)
        return n < 0 ? nil : String(decoding: buffer.prefix(n), as: UTF8.self)
    }

    /// The names in the workspace, as bytes.
    func names() -> Set<[UInt8]> {
        Set(((try? FileManager.default.contentsOfDirectory(atPath: workspace)) ?? []).map { Array($0.utf8) })
    }

    func exists(_ name: String) -> Bool {
        var st = stat()
        return lstat(workspace + "/" + name, &st) == 0
    }

    @Test func bothFilesAreCapturedAndRestored() async throws {
        try put(Self.nfc, "nfc")
        try put(Self.nfd, "nfd-content")
        try #require(names().contains(Array(Self.nfc.utf8)) && names().contains(Array(Self.nfd.utf8)))
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let taken = await t.run("w1", "checkpoint", #"{"name": "c", "include_files": ["*.txt"]}"#)
        #expect(taken.result["file_count"] == 2, "\(taken.json)")
        try put(Self.nfc, "CHANGED1")
        try put(Self.nfd, "CHANGED2")

        let restored = await t.run("w1", "restore", #"{"checkpoint_id": "c"}"#)

        #expect(restored.succeeded, "\(restored.json)")
        #expect(get(Self.nfc) == "nfc")
        #expect(get(Self.nfd) == "nfd-content")
    }

    @Test func aFileTheCheckpointDidNotHoldIsRemovedThoughItsNameEqualsAHeldOneAsAString() async throws {
        try put(Self.nfc, "nfc")
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let taken = await t.run("w1", "checkpoint", #"{"name": "c", "include_files": ["*.txt"]}"#)
        #expect(taken.result["file_count"] == 1, "\(taken.json)")
        try put(Self.nfd, "new since")

        let restored = await t.run("w1", "restore", #"{"checkpoint_id": "c"}"#)

        #expect(restored.succeeded, "\(restored.json)")
        #expect(get(Self.nfc) == "nfc")
        #expect(!exists(Self.nfd), "the file the checkpoint did not hold stayed")
        let removed = restored.result["files"]?["removed"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(removed.map { Array($0.utf8) } == [Array(Self.nfd.utf8)], "\(restored.json)")
    }

    /// Where the file system does not tell the two names apart (macOS), the other name is the
    /// captured file itself, and removing it would remove the file just restored: a name that
    /// is the same file (here a hard link, as it is there) is kept.
    @Test func theOtherNameIsKeptWhenItIsTheCapturedFileItself() async throws {
        try put(Self.nfc, "nfc")
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        await t.run("w1", "checkpoint", #"{"name": "c", "include_files": ["*.txt"]}"#)
        try #require(link(workspace + "/" + Self.nfc, workspace + "/" + Self.nfd) == 0)

        let restored = await t.run("w1", "restore", #"{"checkpoint_id": "c"}"#)

        #expect(restored.succeeded, "\(restored.json)")
        #expect(get(Self.nfc) == "nfc")
        #expect(exists(Self.nfd))
    }

    /// A task's declared files were deduplicated as strings: the risky task's checkpoint held one.
    @Test func declaredFilesInBothNormalizationsAreBothCaptured() async throws {
        try put(Self.nfc, "nfc")
        try put(Self.nfd, "nfd-content")
        let files = JSONValue.strings([Self.nfc, Self.nfd]).serialized(.compact)
        await t.run(
            "w1", "create", "{\"phases\": [{\"name\": \"a\", \"tasks\": [{\"task_id\": \"t1\", \"files\": \(files)}]}]}"
        )
        let taken = await t.run("w1", "checkpoint", #"{"name": "c", "include_files": true}"#)
        #expect(taken.result["file_count"] == 2, "\(taken.json)")
    }

    /// The stamps of a capture were keyed by `String`: one of the two was stored, and the other
    /// file's contents, referenced by no stamp, went with the next clean-up of the store.
    @Test func bothContentsOutliveRetention() async throws {
        var configuration = Configuration()
        configuration.checkpointRetention = 1
        let t = try TestHub(configuration: configuration)
        let suite = try UnicodeFileNameTests(hub: t)
        try suite.put(Self.nfc, "nfc")
        try suite.put(Self.nfd, "nfd-content")
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        await t.run("w1", "checkpoint", #"{"name": "old", "include_files": ["*.txt"]}"#)
        // The second capture reuses both hashes by stamp; the first checkpoint goes, and with it
        // every content no remaining stamp names.
        let taken = await t.run("w1", "checkpoint", #"{"name": "c", "include_files": ["*.txt"]}"#)
        #expect(taken.result["file_count"] == 2, "\(taken.json)")
        #expect(taken.result["expired"]?.arrayValue?.count == 1, "\(taken.json)")
        let listed = await t.run("w1", "list-checkpoints").result["checkpoints"]?.arrayValue ?? []
        #expect(listed.first?["valid"] == true, "\(listed)")
        try suite.put(Self.nfc, "CHANGED1")
        try suite.put(Self.nfd, "CHANGED2")

        let restored = await t.run("w1", "restore", #"{"checkpoint_id": "c"}"#)

        #expect(restored.succeeded, "\(restored.json)")
        #expect(suite.get(Self.nfc) == "nfc")
        #expect(suite.get(Self.nfd) == "nfd-content")
    }

    /// A bundle's checkpoint loaded with both files keeps both contents referenced.
    @Test func aLoadedCheckpointKeepsBothContents() async throws {
        try put(Self.nfc, "nfc")
        try put(Self.nfd, "nfd-content")
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        await t.run("w1", "checkpoint", #"{"name": "old"}"#)
        await t.run("w1", "checkpoint", #"{"name": "c", "include_files": ["*.txt"]}"#)
        let saved = await t.run(
            "w1", "save-state", #"{"backup_location": "w1.json", "include_checkpoints": true}"#)
        let bundle = try #require(saved.result["bundle"]?["path"]?.stringValue, "\(saved.json)")
        var configuration = Configuration()
        configuration.checkpointRetention = 2
        let fresh = try TestHub(configuration: configuration)
        try FileManager.default.createDirectory(
            atPath: fresh.directory.file("state"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: bundle, toPath: fresh.directory.file("state/w1.json"))
        let loaded = await fresh.run("w1", "load-state", #"{"bundle": "w1.json"}"#)
        #expect(loaded.succeeded, "\(loaded.json)")
        // A third checkpoint expires the oldest, and the store drops contents no stamp names.
        #expect(await fresh.run("w1", "checkpoint", #"{"name": "new"}"#).succeeded)
        let listed = await fresh.run("w1", "list-checkpoints").result["checkpoints"]?.arrayValue ?? []
        let c = listed.first { $0["name"] == "c" }
        #expect(c?["valid"] == true, "\(listed)")
        // Restored where the loaded workflow works: the fresh hub's directory.
        let there = try UnicodeFileNameTests(hub: fresh)
        let restored = await fresh.run("w1", "restore", #"{"name": "c"}"#)
        #expect(restored.succeeded, "\(restored.json)")
        #expect(there.get(Self.nfc) == "nfc")
        #expect(there.get(Self.nfd) == "nfd-content")
    }
}

extension UnicodeFileNameTests {
    init(hub: TestHub) throws { t = hub }
}

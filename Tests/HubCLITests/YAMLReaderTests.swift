import HubCore
import Testing

@testable import HubCLI

/// The YAML reader on its own: values as Yams types them, and the limits that hold on any
/// input, counted through aliases.
@Suite struct YAMLReaderTests {
    func read(_ text: String) throws -> JSONValue? { try YAMLReader.read(Array(text.utf8)) }

    func problem(_ text: String) -> String? {
        do {
            _ = try read(text)
            return nil
        } catch let problem as YAMLReader.Problem {
            return problem.message
        } catch {
            return "\(error)"
        }
    }

    @Test func scalarsAreTypedAndAliasesRepeatTheirAnchor() throws {
        let value = try read(
            """
            # a comment
            name: x
            n: 5
            f: 1.5
            t: yes
            z: ~
            quoted: "5"
            tagged: !!str 7
            base: &base {x: [1, {y: null}]}
            copy: *base
            """)
        #expect(value?["name"] == "x")
        #expect(value?["n"] == .int(5))
        #expect(value?["f"] == .double(1.5))
        #expect(value?["t"] == .bool(true))
        #expect(value?["z"] == .null)
        #expect(value?["quoted"] == "5")
        #expect(value?["tagged"] == "7")
        #expect(value?["copy"] == value?["base"])
        #expect(value?["copy"]?["x"]?.arrayValue?[1]["y"] == .null)
        #expect(
            value?.objectValue?.keys.elementsEqual(["name", "n", "f", "t", "z", "quoted", "tagged", "base", "copy"])
                == true)
    }

    /// Windows editors save UTF-8 with a byte order mark; with it, the first key's column was
    /// counted from the mark and the second key no longer lined up with it.
    @Test func aByteOrderMarkIsNotPartOfTheText() throws {
        let value = try YAMLReader.read([0xEF, 0xBB, 0xBF] + Array("name: x\nphases: [a, b]\n".utf8))
        #expect(value?["name"] == "x")
        #expect(value?["phases"] == ["a", "b"])
    }

    @Test func aFileWithNoDocumentIsNil() throws {
        #expect(try read("") == nil)
        #expect(try read("# only a comment\n") == nil)
        #expect(try read("~") == .null)
    }

    /// A chain of anchors, each naming the one before, is as deep as it is long: Yams' composer
    /// built the whole graph and the process died releasing it (SIGSEGV at 50,000 links).
    @Test func depthCountsThroughAliasesAndALongChainIsRefused() throws {
        var chain = ["a0: &a0 [x]"]
        for n in 1..<60_000 { chain.append("a\(n): &a\(n) [*a\(n - 1)]") }
        #expect(problem(chain.joined(separator: "\n"))?.contains("nested more than 128 levels") == true)
        var short = ["a0: &a0 [x]"]
        for n in 1..<100 { short.append("a\(n): &a\(n) [*a\(n - 1)]") }
        let value = try read(short.joined(separator: "\n"))
        var deepest = value?["a99"]
        for _ in 0..<99 { deepest = deepest?.arrayValue?.first }
        #expect(deepest == ["x"])
        #expect(problem(String(repeating: "[", count: 200) + String(repeating: "]", count: 200)) != nil)
    }

    @Test func sizeCountsThroughAliases() throws {
        var lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
        for (previous, name) in zip(names, names.dropFirst()) {
            lines.append(
                "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]")
        }
        #expect(problem(lines.joined(separator: "\n"))?.contains("more than 1000000 values") == true)
        // A complex key that is an alias to a large value is refused without being walked.
        #expect(problem(lines.prefix(4).joined(separator: "\n") + "\n? *d\n: 1") != nil)
    }

    @Test func whatIsNotOneDocumentOfStringKeysIsRefused() {
        #expect(problem("a: 1\na: 2")?.contains("the key \"a\" twice") == true)
        #expect(problem("? [a]\n: 1")?.contains("not a string") == true)
        #expect(problem("a: *nowhere")?.contains("before its anchor") == true)
        #expect(problem("---\na: 1\n---\nb: 2")?.contains("more than one YAML document") == true)
        #expect(problem("a: [unclosed")?.contains("not valid YAML") == true)
        #expect((try? YAMLReader.read([0x61, 0x3A, 0x20, 0xFF])) == nil, "bytes that are not UTF-8")
    }
}

import HubCore
import Testing

@Suite struct JSONTests {
    @Test func parsesAndKeepsKeyOrderAndNumberKinds() throws {
        let value = try JSONParser.parse(#"{"b": 1, "a": [true, null, 2.5, "x\u00e9\n"], "c": -0}"#)
        #expect(value.objectValue.map { Array($0.keys) } == ["b", "a", "c"])
        #expect(value["b"] == .int(1))
        #expect(value["a"]?.arrayValue?[2] == .double(2.5))
        #expect(value["a"]?.arrayValue?[3] == .string("xé\n"))
        #expect(value.serialized() == #"{"b":1,"a":[true,null,2.5,"xé\n"],"c":0}"#)
    }

    @Test func canonicalFormSortsKeys() throws {
        let value = try JSONParser.parse(#"{"b": {"z": 1, "y": 2}, "a": 1}"#)
        #expect(value.serialized(.canonical) == #"{"a":1,"b":{"y":2,"z":1}}"#)
    }

    @Test func surrogatePairsDecode() throws {
        #expect(try JSONParser.parse(#""\ud83d\ude00""#) == .string("😀"))
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "01", "1.", "-", "tru", "\"\\x\"", "\"unterminated",
        "{\"a\":1,\"a\":2}", "[1] 2", "\"\\ud800\"", "nul", "{1:2}", "\"a\u{01}b\"", "1e",
    ])
    func refusesMalformedText(_ text: String) {
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(text) }
    }

    /// A repeated key is refused at the repeat's offset, in small objects (compared key by
    /// key) and larger ones alike.
    @Test(arguments: [
        (#"{"b":1,"c":2,"b":3}"#, 13), (#"{"c":1,"b":2,"c":3}"#, 13), (#"{"a":{"x":1,"x":2}}"#, 12),
        (#"{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k1":10}"#, 71),
    ])
    func refusesADuplicateKeyWhereItIs(_ text: String, _ offset: Int) {
        let error = #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(text) }
        #expect(error?.reason.hasPrefix("duplicate key") == true)
        #expect(error?.offset == offset)
    }

    /// Two spellings of one text (NFC "é" and NFD "e" + U+0301) are one key: refused, saying so,
    /// since the two keys look alike and differ in bytes.
    @Test func aDuplicateKeyInAnotherNormalizationFormIsSaidToBeOne() {
        let error = #expect(throws: JSONParser.SyntaxError.self) {
            try JSONParser.parse("{\"caf\u{E9}\": 1, \"cafe\u{301}\": 2}")
        }
        #expect(error?.reason.contains("another Unicode normalization form") == true, "\(error?.reason ?? "")")
        let plain = #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(#"{"a": 1, "a": 2}"#) }
        #expect(plain?.reason == #"duplicate key "a""#)
    }

    @Test func refusesNestingBeyondTheLimit() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(deep) }
    }

    @Test func controlCharactersAreEscapedOnOutput() {
        #expect(JSONValue.string("a\u{1}\"\\").serialized() == #""a\u0001\"\\""#)
        // Runs between escapes are copied whole: escapes first, last, adjacent and none.
        #expect(JSONValue.string("\"ab\ncd\t\u{1F}\"").serialized() == #""\"ab\ncd\t\u001f\"""#)
        #expect(JSONValue.string("plain é text").serialized() == #""plain é text""#)
        #expect(JSONValue.string("").serialized() == #""""#)
    }

    @Test func roundTripsThroughText() throws {
        let value: JSONValue = ["s": "x", "n": 3, "d": 0.1, "b": false, "z": nil, "a": [1, [2, ["k": "v"]]]]
        #expect(try JSONParser.parse(value.serialized(.pretty)) == value)
        #expect(try JSONParser.parse(value.serialized(.compact)) == value)
    }

    @Test func checksumsAreOverTheCanonicalForm() throws {
        let a = try JSONParser.parse(#"{"x": 1, "y": 2}"#)
        let b = try JSONParser.parse(#"{"y":2,"x":1}"#)
        #expect(Checksum.sha256(canonical: a) == Checksum.sha256(canonical: b))
        #expect(
            Checksum.sha256(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

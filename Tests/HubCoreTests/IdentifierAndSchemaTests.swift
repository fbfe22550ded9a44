import HubCore
import Testing

@Suite struct IdentifierAndSchemaTests {
    @Test func generatedIDsAreValidDistinctInOneMillisecondAndSortByTime() {
        let clock = ManualClock()
        let ids = RandomIDGenerator(clock: clock)
        let sameMillisecond = (0..<5_000).map { _ in ids.make("evt") }
        #expect(Set(sameMillisecond).count == sameMillisecond.count)
        #expect(sameMillisecond.allSatisfy { Identifier.isValid($0) && $0.hasPrefix("evt_") && $0.utf8.count == 30 })
        clock.advance(by: .seconds(1))
        let later = ids.make("evt")
        #expect(sameMillisecond.allSatisfy { $0 < later })
    }

    @Test func idsMadeAsABatchAreValidDistinctAndSortInTheOrderMade() {
        let clock = ManualClock()
        let ids = RandomIDGenerator(clock: clock)
        let single = ids.make("evt")
        // 100 ids need four reads of the random source (256 bytes each at most).
        let batch = ids.make("evt", count: 100)
        let next = ids.make("evt", count: 3)
        let all = [single] + batch + next
        #expect(batch.count == 100 && next.count == 3)
        #expect(Set(all).count == all.count)
        #expect(all.allSatisfy { Identifier.isValid($0) && $0.hasPrefix("evt_") && $0.utf8.count == 30 })
        // The same millisecond: the counter numbers a batch's ids in order (other tests
        // share the counter, so only within a batch); the random parts differ.
        let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)
        func counter(_ id: String) -> UInt64 {
            id.utf8.dropFirst(4).prefix(13).reduce(0) { $0 << 5 | UInt64(alphabet.firstIndex(of: $1) ?? 0) } & 0xFFFF
        }
        #expect(zip(batch, batch.dropFirst()).allSatisfy { counter($1) == (counter($0) + 1) & 0xFFFF })
        #expect(Set(all.map { $0.prefix(13) }).count == 1)
        #expect(Set(all.map { $0.suffix(13) }).count == all.count)
        #expect(ids.make("evt", count: 0).isEmpty)
        #expect(ids.make("lease", count: 1).first?.hasPrefix("lease_") == true)
    }

    @Test(arguments: ["workflow_123", "a", "A-b_c", String(repeating: "x", count: 128)])
    func acceptsValidIDs(_ id: String) { #expect(Identifier.isValid(id)) }

    @Test(arguments: ["", "../x", "a/b", "a.b", "_a", "-a", "a b", "é", String(repeating: "x", count: 129), "a\u{0}"])
    func refusesHostileIDs(_ id: String) {
        #expect(!Identifier.isValid(id))
        #expect(Identifier.problem(with: id) != nil)
    }

    static let schema = Schema.object([
        .init("name", .string(maxLength: 5), required: true),
        .init("timeout", .duration()),
        .init("count", .integer(min: 1, max: 10)),
        .init("mode", .oneOf(["a", "b"])),
        .init("tags", .array(.string(), maxItems: 2)),
        .init("phase", .anyOf([.integer(min: 1), .string()])),
        .init("nested", .object([.init("flag", .boolean())])),
        .init("role", .name(maxLength: 8)),
        .init("labels", .map(.string())),
        .init("some", .array(.string(), minItems: 1)),
    ])

    func problem(_ json: String) throws -> HubError? {
        let value = try JSONParser.parse(json)
        do {
            try Self.schema.validate(value)
            return nil
        } catch {
            return error
        }
    }

    @Test func acceptsAWellFormedDocument() throws {
        #expect(
            try problem(
                #"{"name":"x","timeout":"5m","count":3,"mode":"a","tags":["t"],"phase":"p","nested":{"flag":true}}"#)
                == nil)
    }

    @Test(
        arguments: [
            (#"{}"#, "name"), (#"{"name":1}"#, "name"), (#"{"name":"toolong"}"#, "name"),
            (#"{"name":"x","timeout":"soon"}"#, "timeout"), (#"{"name":"x","count":0}"#, "count"),
            (#"{"name":"x","count":2.5}"#, "count"), (#"{"name":"x","mode":"c"}"#, "mode"),
            (#"{"name":"x","tags":["a","b","c"]}"#, "tags"), (#"{"name":"x","tags":[1]}"#, "tags[0]"),
            (#"{"name":"x","phase":0}"#, "phase"), (#"{"name":"x","nested":{"flag":"yes"}}"#, "nested.flag"),
            (#"{"name":"x","nested":{"other":1}}"#, "nested.other"), (#"{"name":"x","timout":"5m"}"#, "timout"),
            // A name (a role, a resource) is never empty, nor is a free key.
            (#"{"name":"x","role":""}"#, "role"), (#"{"name":"x","labels":{"":"v"}}"#, "labels"),
            // No text holds a NUL: the store's text binding ended "lease_x\u0000junk" at lease_x.
            (#"{"name":"a\u0000"}"#, "name"), (#"{"name":"x","tags":["t\u0000"]}"#, "tags[0]"),
            (#"{"name":"x","labels":{"k\u0000":"v"}}"#, "labels.k\\u0000"),
            // An empty list where one item at least is needed (a filter of nothing filtered nothing).
            (#"{"name":"x","some":[]}"#, "some"),
        ] as [(String, String)])
    func namesTheOffendingField(_ json: String, _ field: String) throws {
        let error = try #require(try problem(json))
        #expect(error.code == .invalidParameters)
        #expect(error.context?["field"]?.stringValue == field)
        #expect(error.message.contains("'\(field)'"))
    }

    @Test func anIntegerOutOfRangeIsQuotedAsGivenNotInExponentForm() throws {
        let error = try #require(try problem(#"{"name":"x","count":100000000000000000}"#))
        #expect(error.message.hasSuffix("got 100000000000000000"), "\(error.message)")
    }

    /// A duration too long to hold was refused as though it were not a duration at all.
    @Test func aDurationTooLongToHoldIsToldFromOneThatIsNotADuration() throws {
        let long = try #require(try problem(#"{"name":"x","timeout":"200000000d"}"#))
        #expect(long.message.contains("longer than the hub can hold"), "\(long.message)")
        let wrong = try #require(try problem(#"{"name":"x","timeout":"soon"}"#))
        #expect(wrong.message.contains("must be a duration such as"), "\(wrong.message)")
        #expect(try problem(#"{"name":"x","timeout":"104166666d"}"#) == nil, "the longest duration held")
    }

    @Test func suggestsTheNearestKnownParameter() throws {
        let error = try #require(try problem(#"{"name":"x","timout":"5m"}"#))
        #expect(error.message.contains("did you mean 'timeout'"))
    }

    /// Keys of two alternatives given together were refused as unknown to the first one.
    @Test func keysOfTwoAlternativesTogetherAreRefusedAsSuch() throws {
        let start = Schema.anyOf([
            .oneOf(["new"]), .object([.init("sequence", .integer(min: 1))]), .object([.init("time", .string())]),
        ])
        let both = try JSONParser.parse(#"{"sequence": 1, "time": "x"}"#)
        #expect(throws: HubError.self) { try start.validate(both, path: "start_from") }
        do {
            try start.validate(both, path: "start_from")
        } catch {
            #expect(error.message.contains("not several: got sequence and time"), "\(error.message)")
        }
        // An unknown key is still named as unknown.
        let unknown = try JSONParser.parse(#"{"sequence": 1, "bogus": 2}"#)
        do {
            try start.validate(unknown, path: "start_from")
            Issue.record("accepted an unknown key")
        } catch {
            #expect(error.context?["field"] == "start_from.bogus")
        }
        try start.validate(try JSONParser.parse(#"{"time": "x"}"#), path: "start_from")
    }

    @Test func schemaExportsAsJSONSchema() {
        let json = Self.schema.json
        #expect(json["type"] == "object")
        #expect(json["additionalProperties"] == false)
        #expect(json["required"] == ["name"])
        #expect(json["properties"]?["mode"]?["enum"] == ["a", "b"])
        #expect(json["properties"]?["role"]?["minLength"] == 1)
        #expect(json["properties"]?["labels"]?["propertyNames"]?["minLength"] == 1)
    }

    @Test func aNameWithCharactersAndFreeKeysAreAccepted() throws {
        #expect(try problem(#"{"name":"x","role":"code","labels":{"team":""}}"#) == nil)
    }

    /// `help subscribe-event` read "start_from: one of new|all or an object or an object", and
    /// its refusal said the same: alternatives that read alike are named once, a single
    /// allowed string as itself.
    @Test func aTypeNamesEachAlternativeOnce() {
        let startFrom = Schema.anyOf([
            .oneOf(["new", "all"]), .object([.init("sequence", .integer(min: 1))]),
            .object([.init("time", .dateTime())]),
        ])
        #expect(startFrom.typeDescription == "one of new|all or an object")
        #expect(Schema.anyOf([.integer(min: 1), .oneOf(["adaptive"])]).typeDescription == "an integer or \"adaptive\"")
        #expect(throws: HubError.self) { try startFrom.validate(7) }
        do {
            try startFrom.validate(true)
            Issue.record("a boolean start_from was accepted")
        } catch {
            #expect(error.message.contains("must be one of new|all or an object, got"), "\(error.message)")
        }
    }
}

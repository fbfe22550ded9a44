import Foundation
import HubCore
import Testing

/// JSONValueDecoder decodes what JSONDecoder with convertFromSnakeCase decodes, the same
/// way, from an already-parsed document.
@Suite struct JSONValueDecoderTests {
    struct Inner: Decodable, Equatable {
        var maxTasks: Int
        var note: String?
    }

    struct Sample: Decodable, Equatable {
        var agentId: String
        var maxTasks: Int?
        var ratio: Double
        var enabled: Bool
        var tags: [String]
        var inner: Inner
        var labels: [String: Int]
        var free: JSONValue?
        var missing: String?
        var nullable: Int?
    }

    static let document = """
        {"agent_id": "a1", "max_tasks": 3, "ratio": 2, "enabled": true, "tags": ["x", "y"],
         "inner": {"max_tasks": 5}, "labels": {"snake_key": 1, "B": 2},
         "free": {"z_last": 1, "a_first": [true, null]}, "nullable": null}
        """

    @Test func decodesWhatJSONDecoderDecodes() throws {
        let value = try JSONParser.parse(Self.document)
        let ours = try JSONValueDecoder().decode(Sample.self, from: value)
        let foundation = JSONDecoder()
        foundation.keyDecodingStrategy = .convertFromSnakeCase
        let theirs = try foundation.decode(Sample.self, from: Data(Self.document.utf8))
        #expect(ours.agentId == theirs.agentId && ours.maxTasks == theirs.maxTasks && ours.ratio == theirs.ratio)
        #expect(ours.tags == theirs.tags && ours.inner == theirs.inner && ours.labels == theirs.labels)
        #expect(ours.missing == nil && ours.nullable == nil && ours.enabled)
        // Dictionary keys are not rewritten; free JSON comes back as written, in order.
        #expect(ours.labels == ["snake_key": 1, "B": 2])
        #expect(ours.free?.serialized() == #"{"z_last":1,"a_first":[true,null]}"#)
    }

    @Test func keysConvertAsFoundationConvertsThem() throws {
        struct Keys: Decodable {
            var oneTwo: Int
            var _leading: Int
            var trailing_: Int
            var already: Int
            var snakeCASEWord: Int?
            var snakeCaseWord: Int?
        }
        let (ours, theirs) = try Self.decodeBothWays(
            Keys.self, #"{"one_two": 1, "_leading": 2, "trailing_": 3, "already": 4, "snake_CASE_word": 5}"#)
        #expect(ours.oneTwo == theirs.oneTwo && ours._leading == theirs._leading)
        #expect(ours.trailing_ == theirs.trailing_ && ours.already == theirs.already)
        #expect(ours.snakeCaseWord == theirs.snakeCaseWord && ours.snakeCASEWord == theirs.snakeCASEWord)
    }

    @Test func asciiKeysTakeTheFastPathToTheSameNames() throws {
        // Keys of lowercase letters and inner underscores skip Foundation's capitalization
        // (digits go the long way); each must come out as convertFromSnakeCase makes it.
        struct Keys: Decodable {
            var eventType: Int?
            var a2bC3: Int?
            var x2nd: Int?
            var doubleGap: Int?
            var plain: Int?
        }
        let (ours, theirs) = try Self.decodeBothWays(
            Keys.self, #"{"event_type": 1, "a2b_c3": 2, "x_2nd": 3, "double__gap": 4, "plain": 5}"#)
        #expect(ours.eventType == 1 && ours.eventType == theirs.eventType)
        #expect(ours.a2bC3 == theirs.a2bC3 && ours.x2nd == theirs.x2nd)
        #expect(ours.doubleGap == theirs.doubleGap && ours.plain == theirs.plain)
    }

    /// `text` decoded by JSONValueDecoder and by JSONDecoder with convertFromSnakeCase.
    static func decodeBothWays<T: Decodable>(_ type: T.Type, _ text: String) throws -> (ours: T, theirs: T) {
        let foundation = JSONDecoder()
        foundation.keyDecodingStrategy = .convertFromSnakeCase
        return (
            try JSONValueDecoder().decode(type, from: try JSONParser.parse(text)),
            try foundation.decode(type, from: Data(text.utf8))
        )
    }

    @Test func mismatchesAndMissingKeysAreDecodingErrors() throws {
        struct Need: Decodable { var count: Int }
        for (text, check) in [
            (#"{}"#, { (e: DecodingError) in if case .keyNotFound = e { true } else { false } }),
            (#"{"count": "three"}"#, { (e: DecodingError) in if case .typeMismatch = e { true } else { false } }),
            (#"{"count": 1.5}"#, { (e: DecodingError) in if case .dataCorrupted = e { true } else { false } }),
            (#"[1]"#, { (e: DecodingError) in if case .typeMismatch = e { true } else { false } }),
        ] {
            do {
                _ = try JSONValueDecoder().decode(Need.self, from: try JSONParser.parse(text))
                Issue.record("\(text) decoded")
            } catch let error as DecodingError {
                #expect(check(error), "\(text): \(error)")
            }
        }
        // The path names the field, as the error messages of the operations need.
        do {
            _ = try JSONValueDecoder().decode(
                [String: Need].self, from: try JSONParser.parse(#"{"a": {"count": true}}"#))
        } catch DecodingError.typeMismatch(_, let context) {
            #expect(context.codingPath.map(\.stringValue) == ["a", "count"])
        }
    }
}

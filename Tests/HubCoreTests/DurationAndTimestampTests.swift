import Foundation
import HubCore
import Testing

@Suite struct DurationAndTimestampTests {
    @Test(
        arguments: [
            ("250ms", 250), ("5s", 5000), ("15m", 900_000), ("2h", 7_200_000), ("7d", 604_800_000),
            ("1h 15m", 4_500_000), ("1h15m", 4_500_000), ("1.5h", 5_400_000), (" 30s ", 30_000),
        ] as [(String, Int64)])
    func parsesTheDocumentedForms(_ text: String, _ milliseconds: Int64) {
        #expect(HubDuration(parsing: text)?.milliseconds == milliseconds)
    }

    @Test(arguments: ["", "5", "5x", "h", "1h -5m", "1e9d", "5 s s", "--", String(repeating: "1", count: 100) + "s"])
    func refusesEverythingElse(_ text: String) {
        #expect(HubDuration(parsing: text) == nil)
    }

    /// The parameter schemas (OpenAPI, MCP tool inputs) say what a duration is with a pattern
    /// and a length: a client that trusts them must not meet a refusal, nor be kept from a
    /// duration the hub takes. `5 s` and `1 h 15 m` matched the pattern and were refused;
    /// `.5h` and `1.h` were taken and did not match.
    @Test(
        arguments: [
            "5s", "1h 15m", "1h15m", "1.5h", " 30s ", "\t2m\n", "1h  15m", "5 s", "1 h 15 m", ".5h", "1.h", "1..5h",
            "1.2.3s", "1m s", "1mss", "5", "", "1e9d", String(repeating: "1s", count: 32),
            String(repeating: "1s", count: 33),
            // schemathesis: the length counts the whitespace around a duration too.
            "0s" + String(repeating: " ", count: 63), "0s" + String(repeating: " ", count: 62),
        ])
    func theSchemaPatternAgreesWithTheParser(_ text: String) throws {
        let schema = Schema.duration().json
        let pattern = try #require(schema["pattern"]?.stringValue)
        let maxLength = try #require(schema["maxLength"]?.intValue)
        let regex = try NSRegularExpression(pattern: pattern)
        let whole = NSRange(text.startIndex..., in: text)
        let matches = regex.firstMatch(in: text, range: whole) != nil && text.unicodeScalars.count <= Int(maxLength)
        #expect(matches == (HubDuration(parsing: text) != nil), "\(text.debugDescription)")
    }

    @Test(
        arguments: [(0, "0s"), (250, "250ms"), (4_500_000, "1h 15m"), (90_061_001, "1d 1h 1m 1s 1ms")]
            as [(Int64, String)])
    func printsLargestUnitsFirst(_ milliseconds: Int64, _ text: String) {
        #expect(HubDuration(milliseconds: milliseconds).description == text)
        #expect(HubDuration(parsing: text)?.milliseconds == milliseconds)
    }

    @Test func measuredTimesKeepAFraction() {
        #expect(HubDuration.formatMeasured(seconds: 0.0023) == "2.3ms")
        #expect(HubDuration.formatMeasured(seconds: 1.25) == "1.25s")
    }

    @Test func timestampsRoundTripInUTCWithMilliseconds() {
        let ms: Int64 = 1_768_478_400_123
        let text = Timestamp.format(milliseconds: ms)
        #expect(text == "2026-01-15T12:00:00.123Z")
        #expect(Timestamp.parseMilliseconds(text) == ms)
    }

    @Test func timestampsAcceptOffsetsAndMissingFractions() {
        #expect(Timestamp.parseMilliseconds("2026-01-15T12:00:00Z") == 1_768_478_400_000)
        #expect(Timestamp.parseMilliseconds("2026-01-15T13:00:00+01:00") == 1_768_478_400_000)
        #expect(Timestamp.parseMilliseconds("2026-01-15T12:00:00.5Z") == 1_768_478_400_500)
        #expect(Timestamp.parseMilliseconds("2026-01-15T12:00:00.123456789Z") == 1_768_478_400_123)
    }

    @Test(arguments: [
        "2026-13-01T00:00:00Z", "2026-01-15 12:00", "yesterday", "2026-01-15T12:00:00", "2026-01-15T12:00:00.Z",
    ])
    func timestampsRefuseMalformedText(_ text: String) {
        #expect(Timestamp.parseMilliseconds(text) == nil)
    }

    @Test func datesBeforeTheEpochFormat() {
        #expect(Timestamp.format(milliseconds: -1) == "1969-12-31T23:59:59.999Z")
    }

    @Test func formattingPadsEveryFieldAndAgreesWithFoundation() {
        #expect(Timestamp.format(milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(milliseconds: 946_684_799_007) == "1999-12-31T23:59:59.007Z")
        // Years past 9999 keep all their digits.
        #expect(Timestamp.format(milliseconds: 253_402_300_800_000) == "10000-01-01T00:00:00.000Z")
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var ms: Int64 = 1_000_000_000_123
        for _ in 0..<200 {
            ms = ms &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let sample = (ms & 0x7FFF_FFFF_FFFF) % 4_102_444_800_000  // up to 2100
            let date = Date(timeIntervalSince1970: Double(sample) / 1000)
            #expect(Timestamp.format(milliseconds: sample) == formatter.string(from: date))
        }
    }
}

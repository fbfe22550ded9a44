import Foundation
import HubCore
import Testing

@testable import HubMCP

@Suite struct StdioLineTransportTests {
    /// The lines of `text` as the reader hands them over, with a limit of `maximum` bytes.
    static func events(_ text: String, maximum: Int) throws -> [String] {
        let pipe = Pipe()
        let writer = Thread {
            pipe.fileHandleForWriting.write(Data(text.utf8))
            try? pipe.fileHandleForWriting.close()
        }
        writer.start()
        var out: [String] = []
        StdioLineTransport.readLines(from: pipe.fileHandleForReading.fileDescriptor, maximum: maximum) { event in
            switch event {
            case .line(let bytes): out.append(String(decoding: bytes, as: UTF8.self))
            case .tooLong: out.append("<too long>")
            case .end: out.append("<end>")
            }
        }
        return out
    }

    @Test func linesAreSplitOnNewlinesAndBlankLinesSkipped() throws {
        #expect(try Self.events("a\n\nbc\nlast", maximum: 100) == ["a", "bc", "last", "<end>"])
    }

    @Test func aLineOverTheLimitIsDroppedAndReadingGoesOn() throws {
        let long = String(repeating: "x", count: 200_000)
        #expect(try Self.events("a\n\(long)\nb\n", maximum: 1000) == ["a", "<too long>", "b", "<end>"])
        // A line across many reads within the limit arrives whole.
        #expect(try Self.events("\(long)\n", maximum: 300_000) == [long, "<end>"])
    }

    @Test func requestsAreCountedOnlyWhenTheSDKWillAnswerThem() {
        func key(_ s: String) -> String? { StdioLineTransport.requestKey(Array(s.utf8)) }
        #expect(key(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#) == "1")
        #expect(key(#"{"jsonrpc":"2.0","id":"a","method":"ping"}"#) == "\"a\"")
        #expect(key(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#) == nil)
        #expect(key(#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#) == nil)
        #expect(key(#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#) == nil)
        #expect(StdioLineTransport.responseKey(Array(#"{"id":1,"jsonrpc":"2.0","result":{}}"#.utf8)) == "1")
    }
}

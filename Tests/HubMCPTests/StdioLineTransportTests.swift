import Foundation
import HubCore
import MCP
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
        func read(_ s: String) -> StdioLineTransport.Incoming { StdioLineTransport.classify(Array(s.utf8)) }
        #expect(read(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#) == .request("1", method: "ping"))
        #expect(read(#"{"jsonrpc":"2.0","id":"a","method":"ping"}"#) == .request("\"a\"", method: "ping"))
        #expect(read(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#) == .other)
        #expect(read(#"{"jsonrpc":"2.0","id":1,"result":{}}"#) == .other)
        #expect(read("  \r") == .blank)
        // A cancellation names the request whose answer is withdrawn; one naming no usable id is passed on only.
        #expect(
            read(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"a"}}"#)
                == .cancellation("\"a\""))
        #expect(
            read(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7}}"#)
                == .cancellation("7"))
        #expect(read(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{}}"#) == .other)
        #expect(StdioLineTransport.responseKey(Array(#"{"id":1,"jsonrpc":"2.0","result":{}}"#.utf8)) == "1")
    }

    /// A request this parser refuses (valid JSON nested deeper than it reads, a key given
    /// twice, a number out of range) was answered with `id: null`, which no client can match:
    /// its call waited for ever. The id is found by scanning the line.
    @Test func aRefusedRequestIsAnsweredWithItsOwnID() throws {
        let deep = String(repeating: #"{"a":"#, count: 130) + "1" + String(repeating: "}", count: 130)
        let lines = [
            (
                #"{"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"name":"create","arguments":"# + deep + "}}",
                "13"
            ),
            (
                #"{"jsonrpc":"2.0","method":"tools/call","params":{"limit":2,"limit":3,"id":9},"id":"req-7"}"#,
                #""req-7""#
            ),
            (#"{"jsonrpc":"2.0","params":{"x":"a "id": 4"},"id":-2,"n":1e400}"#, "-2"),
            (#"{"jsonrpc":"2.0","id":5,"#, "5"),
            (#"{"jsonrpc":"2.0","params":{"id":8},"n":1e400}"#, "null"),
        ]
        for (line, id) in lines {
            guard case .refused(let answer) = StdioLineTransport.classify(Array(line.utf8)) else {
                Issue.record("not refused: \(line.prefix(80))")
                continue
            }
            let json = try JSONParser.parse(answer)
            #expect(json["id"]?.serialized() == id, "\(answer)")
            #expect(json["error"]?["code"] == -32700)
        }
    }

    /// A batch is never passed on as it is (the SDK ran each entry past every check made
    /// here: before initialize, null ids, bad params); its entries are read one by one, and
    /// the session's version decides whether it is answered at all.
    @Test(arguments: [
        (#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#, 1), ("[1, 2]", 2), ("[]", 0),
        (#"[{"jsonrpc":"2.0","id":null,"method":"tools/list"}, 3]"#, 2),
    ])
    func aBatchIsReadAsItsEntries(_ line: String, _ count: Int) throws {
        guard case .batch(let entries) = StdioLineTransport.classify(Array(line.utf8)) else {
            Issue.record("the batch \(line) was not read as a batch")
            return
        }
        #expect(entries.count == count)
    }

    /// MCP 2025-03-26 added batches and 2025-06-18 removed them; 2024-11-05 had none.
    @Test func onlyASessionOf2025_03_26TakesBatches() throws {
        #expect(StdioLineTransport.acceptsBatches("2025-03-26"))
        for version in [nil, "2024-11-05", "2025-06-18", "2025-11-25"] as [String?] {
            #expect(!StdioLineTransport.acceptsBatches(version), "\(version ?? "before initialize")")
            let refusal = StdioLineTransport.batchRefusal(version)
            #expect(refusal.hasPrefix("Invalid Request: batches are not supported"))
            #expect(refusal.contains(version ?? "before initialize"), "\(refusal)")
        }
    }

    /// The SDK's rule: the client's version when the SDK has it, else the SDK's latest.
    @Test func theVersionIsNegotiatedAsTheSDKDoes() {
        func version(_ requested: String) -> String {
            StdioLineTransport.negotiatedVersion(
                requestedIn: Array(
                    #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"\#(requested)"}}"#.utf8
                ))
        }
        #expect(version("2025-03-26") == "2025-03-26")
        #expect(version("2025-06-18") == "2025-06-18")
        #expect(version("1999-01-01") == Version.latest)
    }

    /// A batch's answers go out together, once the last of its requests is answered.
    @Test func aBatchIsAnsweredOnceAllItsRequestsAre() {
        var batches = PendingBatches()
        batches.add(keys: ["1", "2"], answers: [#"{"error":"refused entry"}"#])
        #expect(batches.awaits("1") && batches.awaits("2") && !batches.awaits("3"))
        #expect(batches.take(#"{"id":3}"#, for: "3") == .notBatched)
        #expect(batches.take(#"{"id":2}"#, for: "2") == .held)
        #expect(
            batches.take(#"{"id":1}"#, for: "1")
                == .complete(line: #"[{"error":"refused entry"},{"id":2},{"id":1}]"#, keys: ["1", "2"]))
        #expect(batches.isEmpty)
    }

    @Test func usableParametersArePassedOn() {
        func read(_ s: String) -> StdioLineTransport.Incoming { StdioLineTransport.classify(Array(s.utf8)) }
        #expect(
            read(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"pause"}}"#)
                == .request("1", method: "tools/call"))
        #expect(
            read(#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x","arguments":null}}"#)
                == .request("2", method: "tools/call"))
        #expect(
            read(#"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{}}"#) == .request("3", method: "tools/list"))
    }

    /// What the SDK answered wrongly, or never, is answered here as JSON-RPC says.
    @Test(
        arguments: [
            ("not json", -32700, JSONValue.null), (#"{"jsonrpc":"1.0","id":3,"method":"ping"}"#, -32600, 3),
            (#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#, -32600, .null),
            (#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#, -32600, .null),
            (#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#, -32600, .null),
            (#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#, -32600, .null),
            (#"{"jsonrpc":"2.0","id":"x","method":5}"#, -32600, "x"), ("42", -32600, .null),
            // The SDK took this for a response and answered nothing; counted as a request, it
            // kept the server from ever exiting.
            (#"{"jsonrpc":"2.0","id":14,"method":"ping","result":{}}"#, -32600, 14),
            (#"{"jsonrpc":"2.0","id":15,"method":"ping","error":{"code":1,"message":"x"}}"#, -32600, 15),
            // Parameters the SDK could not decode were its Internal error (-32603).
            (#"{"jsonrpc":"2.0","id":20,"method":"tools/call"}"#, -32602, 20),
            (#"{"jsonrpc":"2.0","id":21,"method":"tools/call","params":{"name":5}}"#, -32602, 21),
            (#"{"jsonrpc":"2.0","id":22,"method":"tools/call","params":{"name":"pause","arguments":[1]}}"#, -32602, 22),
            (#"{"jsonrpc":"2.0","id":23,"method":"tools/call","params":[]}"#, -32602, 23),
            (#"{"jsonrpc":"2.0","id":24,"method":"tools/list","params":"x"}"#, -32602, 24),
        ] as [(String, Int64, JSONValue)])
    func malformedMessagesGetTheirJSONRPCError(_ line: String, _ code: Int64, _ id: JSONValue) throws {
        guard case .refused(let answer) = StdioLineTransport.classify(Array(line.utf8)) else {
            Issue.record("\(line) was passed on")
            return
        }
        let response = try JSONParser.parse(answer)
        #expect(response["error"]?["code"] == .int(code))
        #expect(response["id"] == id)
        #expect(response["jsonrpc"] == "2.0")
    }
}

/// The transport's bookkeeping of cancelled requests, driven line by line through pipes.
@Suite(.timeLimit(.minutes(1))) struct StdioCancellationTests {
    /// A transport reading `input` and writing to `output`, with the stream of what it passes on.
    struct Wired {
        let input = Pipe()
        let output = Pipe()
        let transport: StdioLineTransport
        var passed: AsyncThrowingStream<Data, any Error>.AsyncIterator

        init() async throws {
            transport = StdioLineTransport(
                input: input.fileHandleForReading.fileDescriptor, output: output.fileHandleForWriting.fileDescriptor)
            try await transport.connect()
            passed = transport.receive().makeAsyncIterator()
        }

        /// Writes a line and waits until the transport has passed it on.
        mutating func read(_ line: String) async throws {
            input.fileHandleForWriting.write(Data((line + "\n").utf8))
            _ = try await passed.next()
        }

        func answer(_ id: Int) async throws {
            try await transport.send(Data(#"{"jsonrpc":"2.0","id":\#(id),"result":{}}"#.utf8))
        }

        /// Everything written, once input has ended and every request is answered.
        func finish() async throws -> [String] {
            try input.fileHandleForWriting.close()
            await transport.drained()
            try output.fileHandleForWriting.close()
            let bytes = output.fileHandleForReading.readToEndRetryingInterrupts()
            return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        }
    }

    /// A cancelled request's answer is not written, though no other request is open; the id
    /// reused after it (MCP forbids it) is answered, and the transport drains: the withdrawal
    /// left behind swallowed that answer, and the server waited for it for ever.
    @Test func aCancelledRequestIsNotAnsweredAndItsIDStillWorksAfter() async throws {
        var wired = try await Wired()
        try await wired.read(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
        try await wired.read(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#)
        try await wired.answer(1)
        try await wired.read(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
        try await wired.answer(1)
        #expect(try await wired.finish() == [#"{"jsonrpc":"2.0","id":1,"result":{}}"#])
    }

    /// A cancellation whose answer never comes (the SDK drops a request cancelled before its
    /// handler starts) must not swallow the answer of a request that reuses the id.
    @Test func aWithdrawalWithoutAnAnswerSwallowsNoLaterOne() async throws {
        var wired = try await Wired()
        try await wired.read(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
        try await wired.read(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#)
        try await wired.read(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
        try await wired.answer(1)
        #expect(try await wired.finish() == [#"{"jsonrpc":"2.0","id":1,"result":{}}"#])
    }
}

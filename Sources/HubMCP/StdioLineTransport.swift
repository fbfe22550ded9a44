import Foundation
import HubCore
import Logging
import MCP

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// MCP over standard input and output, one JSON-RPC message per line, in place of the
/// SDK's `StdioTransport`, for three things a client relies on:
///
/// - **Every request is answered before the server exits.** The SDK handles each request
///   in a task of its own and ends its loop at the end of input, so a client that wrote
///   its requests and closed its end got no answers although the calls had run. This
///   transport counts the requests it has passed on and the responses sent, and
///   ``drained()`` waits until each request has its answer.
/// - **A cancelled request gets no answer** (MCP's cancellation: the receiver should not
///   answer a request its client cancelled). A `notifications/cancelled` naming a request
///   not yet answered withdraws it: the SDK cancels its handler (a waiting claim ends
///   without taking a task), and the answer the handler still gives is not written.
///   `initialize` cannot be cancelled, and a request inside a batch is answered with its
///   batch.
/// - **Reading costs the same per byte however long a line is.** The SDK's reader looked
///   for the newline from the start of everything pending after each 4 KiB read: a
///   2 MiB request took 17 s.
/// - **A line has a limit** (``maximumLine``): a longer one is dropped, answered with
///   JSON-RPC's Invalid Request, and the session goes on.
/// - **Batches follow the negotiated version.** MCP 2025-03-26 has JSON-RPC batches;
///   2025-06-18 removed them, and 2024-11-05 never had them. With 2025-03-26 each entry
///   of a batch is checked as a line is and passed on as a message of its own, and the
///   answers are written as one array once all are in (``PendingBatches``); with any
///   other version, or before initialize, a batch is refused with one Invalid Request.
public actor StdioLineTransport: Transport {
    /// Longest message read: the command line's limit for a parameter document.
    public static let maximumLine = 64 << 20

    public nonisolated let logger = Logger(label: "coordination-hub.mcp.stdio")
    private let input: Int32
    private let output: Int32
    private let messages: AsyncThrowingStream<Data, any Error>
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation
    /// Requests passed on and not yet answered, by their id as canonical JSON.
    private var unanswered: [String: Int] = [:]
    /// Requests the client cancelled before their answer: the answer is not written.
    private var withdrawn: [String: Int] = [:]
    private var drainWaiters: [CheckedContinuation<Void, Never>] = []
    private var started = false
    /// Set once input has ended: lines read after a signal ended it are not passed on.
    private var inputEnded = false
    /// Set once an `initialize` request has been read: requests before it are refused.
    private var initializeRead = false
    /// The protocol version of the session: from the `initialize` request, by the SDK's rule
    /// (the client's when the SDK supports it, else the SDK's latest), then as the SDK's
    /// answer to it says. `nil` before initialize.
    private var protocolVersion: String?
    /// The id of the `initialize` request until its answer, which names the version, is sent.
    private var initializeKey: String?
    /// Batches read whose answers are not all in.
    private var batches = PendingBatches()

    public init(input: Int32 = 0, output: Int32 = 1) {
        self.input = input
        self.output = output
        (messages, continuation) = AsyncThrowingStream.makeStream()
    }

    public func connect() async throws {
        guard !started else { return }
        started = true
        let input = input
        let thread = Thread { [weak self] in
            Self.readLines(from: input) { event in
                guard let self else { return }
                // Hop to the actor without blocking the reading thread for long: the
                // order of lines is kept because each hop is awaited before the next read.
                let done = DispatchSemaphore(value: 0)
                Task {
                    await self.received(event)
                    done.signal()
                }
                done.wait()
            }
        }
        thread.name = "mcp-stdin"
        thread.start()
    }

    public func disconnect() async {
        endInput()
    }

    /// Ends input as if the client had closed it: the server stops reading, and
    /// ``drained()`` still waits for the requests already passed on.
    public func endInput() {
        inputEnded = true
        continuation.finish()
    }

    public func send(_ data: Data) async throws {
        var bytes = [UInt8](data)
        // Only an answer someone waits for, or one withdrawn, needs reading back.
        let key = unanswered.isEmpty && withdrawn.isEmpty ? nil : Self.responseKey(bytes)
        if let key, let count = withdrawn[key] {
            withdrawn[key] = count > 1 ? count - 1 : nil
            return
        }
        if let key {
            if key == initializeKey {
                initializeKey = nil
                if let version = Self.protocolVersion(answeredIn: bytes) { protocolVersion = version }
            }
            switch batches.take(String(decoding: bytes, as: UTF8.self), for: key) {
            case .held:
                return
            case .complete(let line, let keys):
                try Self.writeAll(Array((line + "\n").utf8), to: output)
                for key in keys { answered(key) }
                return
            case .notBatched:
                break
            }
        }
        bytes.append(0x0A)
        try Self.writeAll(bytes, to: output)
        if let key { answered(key) }
    }

    public nonisolated func receive() -> AsyncThrowingStream<Data, any Error> { messages }

    /// Returns once every request passed on so far has been answered.
    public func drained() async {
        guard !unanswered.isEmpty else { return }
        await withCheckedContinuation { drainWaiters.append($0) }
    }

    enum Event: Sendable {
        case line([UInt8])
        case tooLong
        case end
    }

    private func received(_ event: Event) {
        switch event {
        case .line(let bytes):
            guard !inputEnded else { return }
            switch Self.classify(bytes) {
            case .request(let key, let method):
                // MCP's lifecycle: initialize comes first, only a ping may precede it. The SDK
                // (not in its strict mode, which judges by a handshake that may still be
                // running when the next line is read) answered tools before it.
                if !initializeRead {
                    if method == "initialize" {
                        initializeRead = true
                        initializeKey = key
                        protocolVersion = Self.negotiatedVersion(requestedIn: bytes)
                    } else if method != "ping" {
                        writeLine(
                            Self.errorLine(
                                id: Self.id(fromKey: key), code: -32600,
                                "Invalid Request: send initialize before \(method)"))
                        return
                    }
                }
                // Its answer would be taken for the batch's.
                if batches.awaits(key) {
                    writeLine(Self.errorLine(id: Self.id(fromKey: key), code: -32600, Self.idInUse(key)))
                    return
                }
                // MCP forbids reusing an id; a client that does gets the next answer with it, and
                // a withdrawal still pending (its answer never came) must not swallow it.
                withdrawn[key] = nil
                unanswered[key, default: 0] += 1
            case .cancellation(let key):
                withdraw(key)
            case .other:
                break
            case .blank:
                return
            case .refused(let line):
                writeLine(line)
                return
            case .batch(let entries):
                receivedBatch(entries)
                return
            }
            continuation.yield(Data(bytes))
        case .tooLong:
            writeLine(
                Self.errorLine(
                    id: .null, code: -32600,
                    "Invalid Request: a message longer than \(Self.maximumLine) bytes was dropped"))
        case .end:
            endInput()
        }
    }

    /// Writes one line of the transport's own (an answer the SDK does not give).
    private func writeLine(_ line: String) {
        try? Self.writeAll(Array((line + "\n").utf8), to: output)
    }

    /// A batch read: refused whole unless the session's version has batches; else each
    /// entry is checked as a line is, passed on as a message of its own, and the answers
    /// are written together once all are in (refusals of entries among them).
    private func receivedBatch(_ entries: [JSONValue]) {
        guard Self.acceptsBatches(protocolVersion) else {
            writeLine(Self.errorLine(id: .null, code: -32600, Self.batchRefusal(protocolVersion)))
            return
        }
        guard !entries.isEmpty else {
            writeLine(Self.errorLine(id: .null, code: -32600, "Invalid Request: an empty batch"))
            return
        }
        var answers: [String] = []
        var keys: [String] = []
        var seen: Set<String> = []
        var messages: [Data] = []
        for entry in entries {
            switch Self.classify(message: entry) {
            case .request(let key, let method):
                if method == "initialize" {
                    answers.append(
                        Self.errorLine(
                            id: Self.id(fromKey: key), code: -32600,
                            "Invalid Request: initialize cannot be part of a batch"))
                } else if unanswered[key] != nil || batches.awaits(key) || seen.contains(key) {
                    answers.append(Self.errorLine(id: Self.id(fromKey: key), code: -32600, Self.idInUse(key)))
                } else {
                    seen.insert(key)
                    keys.append(key)
                    messages.append(Data(entry.serializedBytes(.compact)))
                }
            case .cancellation(let key):
                withdraw(key)
                messages.append(Data(entry.serializedBytes(.compact)))
            case .other:
                messages.append(Data(entry.serializedBytes(.compact)))
            case .refused(let line):
                answers.append(line)
            case .blank, .batch:
                answers.append(
                    Self.errorLine(id: .null, code: -32600, "Invalid Request: a batch's entries are JSON-RPC messages"))
            }
        }
        if keys.isEmpty {
            // JSON-RPC: a batch of notifications only is answered with nothing at all.
            if !answers.isEmpty { writeLine(PendingBatches.array(answers)) }
        } else {
            batches.add(keys: keys, answers: answers)
            for key in keys {
                withdrawn[key] = nil
                unanswered[key, default: 0] += 1
            }
        }
        for message in messages { continuation.yield(message) }
    }

    /// A cancellation of the request `key`: its answer, still to come, is not written. Only
    /// a request waiting for its answer can be withdrawn, so that a late cancellation never
    /// swallows the answer of a later request that reuses the id.
    private func withdraw(_ key: String) {
        guard unanswered[key] != nil, key != initializeKey, !batches.awaits(key) else { return }
        withdrawn[key, default: 0] += 1
        answered(key)
    }

    private func answered(_ key: String) {
        guard let count = unanswered[key] else { return }
        unanswered[key] = count > 1 ? count - 1 : nil
        if unanswered.isEmpty {
            for waiter in drainWaiters { waiter.resume() }
            drainWaiters.removeAll()
        }
    }

    /// What a line read is, for the SDK.
    enum Incoming: Equatable {
        /// A request the SDK will answer, by its id as canonical JSON, and its method.
        case request(String, method: String)
        /// A `notifications/cancelled` naming a request, by its id as canonical JSON: passed on.
        case cancellation(String)
        /// A notification or a client's response: passed on, not counted.
        case other
        /// Only spaces: skipped, as an empty line is.
        case blank
        /// Not a message the SDK reads correctly: answered here with this JSON-RPC error.
        case refused(String)
        /// A JSON-RPC batch (an array), with its entries: answered by the session's version.
        case batch([JSONValue])
    }

    /// Reads a line as JSON-RPC 2.0 before the SDK does. The SDK answers text that is not
    /// JSON with a made-up id instead of `null`, a wrong `jsonrpc` as a parse error, and
    /// ignores a request whose id is neither a string nor an integer (the client waits for
    /// ever): those are answered here as JSON-RPC says (§5: Parse error or Invalid Request,
    /// `id` null when it cannot be known).
    static func classify(_ bytes: [UInt8]) -> Incoming {
        // A line of spaces (or the \r of an empty CRLF line) is no message, as an empty line is not.
        guard bytes.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { return .blank }
        let message: JSONValue
        do {
            message = try JSONParser.parse(bytes: bytes)
        } catch {
            // A line this parser refuses may still name its request's id (valid JSON nested too
            // deep, a key given twice): answered with `null`, no client could match the answer,
            // and its call waited for ever.
            return .refused(
                errorLine(id: requestID(in: bytes) ?? .null, code: -32700, "Parse error: \(error.description)"))
        }
        return classify(message: message)
    }

    /// The `id` member of the object `bytes` holds, when it is a string without escapes or an
    /// integer, found by scanning (the line could not be parsed); `nil` otherwise.
    static func requestID(in bytes: [UInt8]) -> JSONValue? {
        var depth = 0
        var i = 0
        var expectingKey = false
        while i < bytes.count {
            let byte = bytes[i]
            switch byte {
            case UInt8(ascii: "{"):
                depth += 1
                expectingKey = depth == 1
            case UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            case UInt8(ascii: ","): expectingKey = depth == 1
            case UInt8(ascii: "\""):
                // A string: skip it whole, escapes included; at the top level in key position, read it.
                let start = i + 1
                i += 1
                while i < bytes.count && bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
                let isIDKey = expectingKey && Array(bytes[start..<min(i, bytes.count)]) == Array("id".utf8)
                expectingKey = false
                if isIDKey { return value(after: i + 1, in: bytes) }
            default: break
            }
            i += 1
        }
        return nil
    }

    /// The string or integer after the `:` that follows `index`.
    private static func value(after index: Int, in bytes: [UInt8]) -> JSONValue? {
        var i = index
        func skipSpace() { while i < bytes.count && [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 } }
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
        i += 1
        skipSpace()
        guard i < bytes.count else { return nil }
        if bytes[i] == UInt8(ascii: "\"") {
            guard let end = bytes[(i + 1)...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
            let text = bytes[(i + 1)..<end]
            guard !text.contains(UInt8(ascii: "\\")) else { return nil }
            return .string(String(decoding: text, as: UTF8.self))
        }
        let digits = bytes[i...].prefix { $0 == UInt8(ascii: "-") || (0x30...0x39).contains($0) }
        guard let number = Int64(String(decoding: digits, as: UTF8.self)) else { return nil }
        return .int(number)
    }

    /// ``classify(_:)`` of a parsed message (or of a batch's entry).
    static func classify(message: JSONValue) -> Incoming {
        switch message {
        case .array(let entries):
            // Never passed on as it is: the SDK ran a batch's entries past every check below
            // (requests before initialize, null ids, bad params).
            return .batch(entries)
        case .object: break
        default: return .refused(errorLine(id: .null, code: -32600, "Invalid Request: a message is a JSON object"))
        }
        let id = message["id"]
        let usableID: JSONValue? = {
            switch id {
            case .string?, .int?: return id
            default: return nil
            }
        }()
        guard message["jsonrpc"] == "2.0" else {
            return .refused(errorLine(id: usableID ?? .null, code: -32600, "Invalid Request: jsonrpc must be \"2.0\""))
        }
        guard message["method"] != nil else { return .other }
        guard let method = message["method"]?.stringValue else {
            return .refused(errorLine(id: usableID ?? .null, code: -32600, "Invalid Request: method must be a string"))
        }
        // The SDK reads a message with a result or an error as a response, whatever else it
        // holds, and answers nothing: a request must not carry either.
        guard message["result"] == nil, message["error"] == nil else {
            return .refused(
                errorLine(
                    id: usableID ?? .null, code: -32600,
                    "Invalid Request: a request has a method and no result or error"))
        }
        guard let id else {
            if method == "notifications/cancelled", let request = message["params"]?["requestId"] {
                switch request {
                case .string, .int:
                    return .cancellation(String(decoding: request.serializedBytes(.canonical), as: UTF8.self))
                default: break
                }
            }
            return .other
        }
        guard let usableID else {
            return .refused(
                errorLine(
                    id: .null, code: -32600,
                    "Invalid Request: id must be a string or an integer, got \(id.isNull ? "null" : id.typeName)"))
        }
        if let problem = invalidParameters(method: method, message["params"]) {
            return .refused(errorLine(id: usableID, code: -32602, "Invalid params: \(problem)"))
        }
        return .request(String(decoding: usableID.serializedBytes(.canonical), as: UTF8.self), method: method)
    }

    /// What is wrong with a request's `params` where the SDK would fail to decode them and
    /// answer Internal error (-32603) with a decoder's message; nil when they are usable.
    static func invalidParameters(method: String, _ params: JSONValue?) -> String? {
        if let params, !params.isNull, params.objectValue == nil {
            return "params must be an object, got \(params.typeName)"
        }
        guard method == "tools/call" else { return nil }
        let usage = #"tools/call takes {"name": "<tool>", "arguments": {…}}"#
        guard let name = params?["name"] else { return "name is missing: \(usage)" }
        guard name.stringValue != nil else { return "name must be a string, got \(name.typeName): \(usage)" }
        if let arguments = params?["arguments"], !arguments.isNull, arguments.objectValue == nil {
            return "arguments must be an object, got \(arguments.typeName): \(usage)"
        }
        return nil
    }

    /// The protocol versions that have JSON-RPC batches: 2025-03-26 added them, 2025-06-18
    /// removed them.
    static let versionsWithBatches: Set<String> = ["2025-03-26"]

    /// Whether a session of `version` (`nil` before initialize) takes batches.
    static func acceptsBatches(_ version: String?) -> Bool { version.map(versionsWithBatches.contains) ?? false }

    /// Why a batch is refused in a session of `version`.
    static func batchRefusal(_ version: String?) -> String {
        guard let version else {
            return "Invalid Request: batches are not supported before initialize; send one message per line"
        }
        return
            "Invalid Request: batches are not supported in MCP \(version), the version negotiated (2025-03-26 has them); send one message per line"
    }

    /// Why a request is refused whose id a request not yet answered has.
    static func idInUse(_ key: String) -> String {
        "Invalid Request: id \(key.prefix(64)) is in use by a request not yet answered"
    }

    /// The version the SDK answers an `initialize` request (`line`) with: the client's when the
    /// SDK supports it, else its latest (the SDK's `Version.negotiate`).
    static func negotiatedVersion(requestedIn line: [UInt8]) -> String {
        let requested = (try? JSONParser.parse(bytes: line))?["params"]?["protocolVersion"]?.stringValue
        guard let requested, Version.supported.contains(requested) else { return Version.latest }
        return requested
    }

    /// The version an answer to `initialize` names, if it is one.
    static func protocolVersion(answeredIn bytes: [UInt8]) -> String? {
        (try? JSONParser.parse(bytes: bytes))?["result"]?["protocolVersion"]?.stringValue
    }

    /// The id a request key (canonical JSON) stands for.
    static func id(fromKey key: String) -> JSONValue { (try? JSONParser.parse(key)) ?? .null }

    static func errorLine(id: JSONValue, code: Int64, _ message: String) -> String {
        let response: JSONValue = [
            "jsonrpc": "2.0", "id": id, "error": ["code": .int(code), "message": .string(message)],
        ]
        return String(decoding: response.serializedBytes(.compact), as: UTF8.self)
    }

    /// The id of a response (an object with an id and no `method`), as canonical JSON.
    static func responseKey(_ bytes: [UInt8]) -> String? {
        guard bytes.first == UInt8(ascii: "{"), let message = try? JSONParser.parse(bytes: bytes),
            message["method"] == nil, let id = message["id"], !id.isNull
        else { return nil }
        return String(decoding: id.serializedBytes(.canonical), as: UTF8.self)
    }

    /// Reads `fd` to its end, handing over each complete line (without its newline), and
    /// `.tooLong` for each line past ``maximumLine``, whose bytes are skipped.
    static func readLines(from fd: Int32, maximum: Int = maximumLine, _ handle: (Event) -> Void) {
        let chunk = 1 << 16
        var buffer = [UInt8](repeating: 0, count: chunk)
        var line: [UInt8] = []
        var skipping = false
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, chunk) }
            if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if count <= 0 { break }
            var start = 0
            while start < count {
                // Only the bytes just read are searched for the newline.
                let newline = buffer[start..<count].firstIndex(of: 0x0A)
                let end = newline ?? count
                if !skipping {
                    if line.count + (end - start) > maximum {
                        skipping = true
                        line.removeAll()
                        handle(.tooLong)
                    } else {
                        line.append(contentsOf: buffer[start..<end])
                    }
                }
                guard let newline else { break }
                if !skipping, !line.isEmpty { handle(.line(line)) }
                line.removeAll(keepingCapacity: line.count < chunk)
                skipping = false
                start = newline + 1
            }
        }
        if !skipping, !line.isEmpty { handle(.line(line)) }
        handle(.end)
    }

    static func writeAll(_ bytes: [UInt8], to fd: Int32) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return write(fd, base + offset, raw.count - offset)
            }
            if written < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw MCPError.transportError(POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO))
            }
            offset += written
        }
    }
}

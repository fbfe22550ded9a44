import Foundation
import HubCore
import HubTesting
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `serve` against clients that misbehave at the HTTP level: a broken body, a body that never comes.
@Suite(.timeLimit(.minutes(2))) struct ServerLimitsTests {
    /// A raw connection to the server at `url` carrying `bytes`, left open.
    static func send(_ bytes: String, to url: String) throws -> FileHandle {
        let handle = try ServeTests.openSocket(url: url)
        handle.write(Data(bytes.utf8))
        return handle
    }

    /// What the server answered on `handle`, up to the end of a small response.
    static func answer(_ handle: FileHandle) -> String {
        var text = ""
        while !text.contains("}") {
            let chunk = handle.readAvailableRetryingInterrupts()
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        return text
    }

    @Test func aBrokenChunkedBodyIsABadRequestNotATooLargeOne() async throws {
        let s = try DispatchSandbox("serve-chunk")
        defer { s.remove() }
        let (server, url, _) = try await ServeTests.startServer(s)
        defer { server.terminate() }
        let handle = try Self.send(
            "POST /v1/list-workflows HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n",
            to: url)
        let text = Self.answer(handle)
        #expect(text.hasPrefix("HTTP/1.1 400"), "\(text)")
        #expect(text.contains("\"INVALID_PARAMETERS\""))
    }

    /// Graceful shutdown finishes what is in flight, but a request whose body never comes
    /// held it for as long as its client kept the connection open.
    @Test func aBodyThatNeverComesDoesNotHoldTheShutdown() async throws {
        let s = try DispatchSandbox("serve-body")
        defer { s.remove() }
        let (server, url, _) = try await ServeTests.startServer(s)
        let handle = try Self.send(
            "POST /v1/list-workflows HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{}", to: url)
        // The request has reached the server when an operation sent after it on another connection is answered.
        #expect(try await ServeTests.request("POST", "\(url)/v1/list-workflows", "{}").0 == 200)
        server.terminate()
        // Without the fix this waits for the suite's time limit: the stalled body kept the server running.
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                server.waitUntilExit()
                continuation.resume()
            }
        }
        #expect(server.terminationStatus == 0)
        let text = Self.answer(handle)
        #expect(text.isEmpty || text.contains("\"STORE_UNAVAILABLE\""), "\(text)")
    }
}

import Foundation
import HubCore
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `serve --port P` with P taken reported `INTERNAL` ("The server stopped: bind(…): Address
/// already in use"), which docs/errors.md calls a bug, and logged a `STORE_UNAVAILABLE …
/// CancellationError()` from the background work the failed start cancelled.
@Suite(.timeLimit(.minutes(1))) struct ServePortInUseTests {
    /// A socket on a free loopback port (listening unless told otherwise), and that port.
    static func occupyPort(listening: Bool = true) throws -> (socket: Int32, port: Int) {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        try #require(fd >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && (!listening || listen(fd, 4) == 0)
                    && getsockname(fd, pointer, &length) == 0
            }
        }
        try #require(bound)
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    @Test func aPortInUseIsAnInvalidArgumentThatSaysSo() throws {
        let hub = try CLISandbox("serve-port-in-use")
        defer { hub.remove() }
        let (fd, port) = try Self.occupyPort()
        defer { close(fd) }
        let outcome = try hub.run("serve", "--port", String(port))
        #expect(outcome.errorCode == "INVALID_ARGUMENTS", "\(outcome.stdout)")
        #expect(outcome.status == 2)
        let message = outcome.json["error"]?["message"]?.stringValue ?? ""
        #expect(message.contains("Port \(port) on 127.0.0.1 is already in use"), "\(message)")
        let suggestions = outcome.json["recovery_suggestions"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(suggestions.contains { $0.contains("--port") }, "\(suggestions)")
        // The background work the failed start cancelled did not fail: nothing is logged as an error.
        #expect(!outcome.stderr.contains("error"), "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("CancellationError"), "\(outcome.stderr)")
    }
}

import Foundation
import HubCore
import HubTesting
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the command line says when a `--hub` call gets no answer.
@Suite(.timeLimit(.minutes(1))) struct RemoteErrorTests {
    /// NIO's description came through whole, parentheses unbalanced: "Cannot reach the hub at
    /// …: connection reset (error set): Connection refused) (errno: 111)".
    @Test func aRefusedConnectionIsSaidPlainly() throws {
        let hub = try CLISandbox("remote-refused")
        defer { hub.remove() }
        // A port bound but not listening: nobody there, and nobody can take it meanwhile.
        let (fd, port) = try ServePortInUseTests.occupyPort(listening: false)
        defer { close(fd) }
        let url = "http://127.0.0.1:\(port)"
        let error = try hub.fail(["--hub", url, "list-workflows"], code: "STORE_UNAVAILABLE", exit: 1)
        #expect(error["message"]?.stringValue == "Cannot reach the hub at \(url): connection refused", "\(error)")
    }
}

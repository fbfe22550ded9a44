import Foundation
import HubEngine
import Testing

@Suite struct PipeReadingTests {
    /// An endless input (`yes '{' | coordination-hub … -`) must not be read to its end:
    /// the reader stops with the chunk that passes the limit, while the writer still writes.
    @Test func aLimitedReadStopsPastTheLimitWithoutWaitingForTheEnd() async throws {
        let pipe = Pipe()
        let writer = pipe.fileHandleForWriting
        let chunk = Data(repeating: UInt8(ascii: "{"), count: 16_384)
        let total = 32 * chunk.count
        // 512 KiB is more than a pipe holds, so the write end is still open when the reader stops.
        let writing = Task.detached {
            for _ in 0..<32 { writer.write(chunk) }
            try? writer.close()
        }
        let reader = pipe.fileHandleForReading
        let read = reader.readToEndRetryingInterrupts(limit: 100_000)
        #expect(read.count > 100_000)
        #expect(read.count <= 100_000 + 65_536)
        #expect(read.count < total)
        // The rest is still there to read: the reader did not consume the input to its end.
        let rest = reader.readToEndRetryingInterrupts()
        #expect(read.count + rest.count == total)
        await writing.value
    }
}

import CompressNIO
import NIOCore

/// A gzip bundle read whole or not at all (RFC 1952). zlib stops at the end of the first
/// member and, when the input runs out before it, returns what it inflated so far without a
/// word: a bundle missing its trailer loaded as verified, one cut inside its data was
/// reported as invalid JSON, and junk or a second member after the first was ignored.
extension StateBundle {
    /// Why gzipped `bytes` cannot be trusted, or their inflated contents.
    enum GzipProblem: Error, Equatable {
        case damaged
        case truncated
        case trailingData(Int)
        case tooLarge
    }

    /// Inflates one gzip member that must fill `bytes` exactly, with its trailer (the CRC-32
    /// and size of the contents) checked.
    static func gunzip(_ bytes: [UInt8], maxSize: Int) throws(GzipProblem) -> [UInt8] {
        var buffer = ByteBuffer(bytes: bytes)
        let out: [UInt8]
        do {
            var inflated = try buffer.decompress(with: .gzip(), maxSize: maxSize)
            out = inflated.readBytes(length: inflated.readableBytes) ?? []
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw .tooLarge
        } catch {
            throw .damaged
        }
        // zlib ends a member only after checking its trailer; input left over follows it.
        guard buffer.readableBytes == 0 else { throw .trailingData(buffer.readableBytes) }
        // All input taken: either the member ended exactly there, or the stream was cut short
        // and zlib returned what it had. Only a whole member ends with the trailer of its contents.
        guard bytes.count >= 18, Array(bytes.suffix(8)) == trailer(of: out) else { throw .truncated }
        return out
    }

    /// The gzip trailer of `contents`: CRC-32, then the size modulo 2^32, both little-endian.
    static func trailer(of contents: [UInt8]) -> [UInt8] {
        let crc = crc32(contents)
        let size = UInt32(truncatingIfNeeded: contents.count)
        return (0..<4).map { UInt8(truncatingIfNeeded: crc >> (8 * $0)) }
            + (0..<4).map { UInt8(truncatingIfNeeded: size >> (8 * $0)) }
    }

    /// CRC-32 (ISO-HDLC, the one gzip uses).
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
}

import Crypto

/// SHA-256 checksums as lowercase hex.
public enum Checksum {
    /// The SHA-256 of bytes.
    public static func sha256<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        SHA256.hash(data: Array(bytes)).map { byte in
            let s = String(byte, radix: 16)
            return byte < 16 ? "0" + s : s
        }.joined()
    }

    /// The SHA-256 of a JSON document's canonical form (sorted keys, no spaces).
    public static func sha256(canonical value: JSONValue) -> String {
        sha256(value.serializedBytes(.canonical))
    }
}

extension Checksum {
    /// A SHA-256 taken a piece at a time, for files read in chunks rather than whole.
    public struct Running {
        private var hasher = SHA256()

        public init() {}

        public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }

        /// The digest as lower-case hex, as ``Checksum/sha256(_:)`` writes it.
        public func hex() -> String {
            hasher.finalize().map { byte in
                let s = String(byte, radix: 16)
                return byte < 16 ? "0" + s : s
            }.joined()
        }
    }
}

/// A file path compared, hashed and ordered by its UTF-8 bytes, as the file system tells
/// files apart.
///
/// Swift's `String` equality is canonical equivalence, and so are `Set<String>`, dictionary
/// keys, `<` and `hasPrefix`: an NFC `é` (c3 a9) and an NFD one (65 cc 81) are one `String`,
/// but two files on Linux. Keyed by `String`, a checkpoint kept one of two such files and a
/// restore left the other in place, though the checkpoint's globs covered it. Every place that
/// matches workspace paths keys them by this.
public struct PathKey: Hashable, Comparable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let path: String

    public init(_ path: String) { self.path = path }
    public init(stringLiteral path: String) { self.path = path }

    public static func == (a: PathKey, b: PathKey) -> Bool { a.path.utf8.elementsEqual(b.path.utf8) }

    public func hash(into hasher: inout Hasher) {
        var bytes = path
        bytes.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Byte order (for UTF-8, the order of the code points), as the store's stamp sets are sorted.
    public static func < (a: PathKey, b: PathKey) -> Bool { a.path.utf8.lexicographicallyPrecedes(b.path.utf8) }

    public var description: String { path }

    /// Whether `path` is `root` or lies below it, comparing bytes (`hasPrefix` compares
    /// canonically: a folder `é` spelt in NFD passed for the NFC one).
    public static func isInside(_ path: String, _ root: String) -> Bool {
        let slash = UInt8(ascii: "/")
        var r = Array(root.utf8)
        if r.count > 1 && r.last == slash { r.removeLast() }
        let p = Array(path.utf8)
        guard p.starts(with: r) else { return false }
        return p.count == r.count || r == [slash] || p[r.count] == slash
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes one JSON object as a line on standard output, keys sorted.
func printJSON(_ object: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

/// A line on standard error, for progress a reader may want; stdout carries only the result.
func note(_ text: String) {
    FileHandle.standardError.write(Data("hub-load: \(text)\n".utf8))
}

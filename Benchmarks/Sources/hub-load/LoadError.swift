/// A failure of a load run, with a message for the person who started it.
struct LoadError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }

    /// The hub answered with an error envelope (or a non-JSON body) for `operation`.
    static func hub(_ operation: String, status: Int, code: String?, message: String?) -> LoadError {
        LoadError("\(operation): HTTP \(status) \(code ?? "(no error code)"): \(message ?? "(no message)")")
    }
}

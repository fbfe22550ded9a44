/// The command line of one subcommand: one positional URL and `--name value` options.
struct Options {
    let url: String
    private var values: [String: String]

    /// Parses `arguments` (after the subcommand's name); `known` lists the option names
    /// (without `--`) the subcommand accepts.
    init(_ arguments: [String], known: [String]) throws(LoadError) {
        var url: String?
        var values: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument.hasPrefix("--") {
                let name = String(argument.dropFirst(2))
                guard known.contains(name) else {
                    throw LoadError(
                        "unknown option \(argument) (this subcommand takes: \(known.map { "--" + $0 }.joined(separator: ", ")))"
                    )
                }
                guard index + 1 < arguments.count else { throw LoadError("\(argument) needs a value") }
                values[name] = arguments[index + 1]
                index += 2
            } else {
                guard url == nil else { throw LoadError("unexpected argument '\(argument)'") }
                url = argument
                index += 1
            }
        }
        guard let url else { throw LoadError("the server's URL is missing, e.g. http://127.0.0.1:8080") }
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw LoadError("'\(url)' is not an http:// URL")
        }
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.values = values
    }

    /// A positive integer option, `defaultValue` when absent.
    func int(_ name: String, default defaultValue: Int, minimum: Int = 1) throws(LoadError) -> Int {
        guard let text = values[name] else { return defaultValue }
        guard let value = Int(text), value >= minimum else {
            throw LoadError("--\(name) must be an integer of at least \(minimum), not '\(text)'")
        }
        return value
    }

    /// A positive number option (seconds, rates), `defaultValue` when absent.
    func double(_ name: String, default defaultValue: Double, minimum: Double = 0) throws(LoadError) -> Double {
        guard let text = values[name] else { return defaultValue }
        guard let value = Double(text), value.isFinite, value >= minimum else {
            throw LoadError("--\(name) must be a number of at least \(minimum), not '\(text)'")
        }
        return value
    }

    /// A string option, `nil` when absent.
    func string(_ name: String) -> String? { values[name] }

    /// A string option that must be given.
    func required(_ name: String) throws(LoadError) -> String {
        guard let value = values[name], !value.isEmpty else { throw LoadError("--\(name) is required") }
        return value
    }
}

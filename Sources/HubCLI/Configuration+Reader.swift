import Foundation
import HubCore
import HubEngine

extension Configuration {
    /// Reads `<state-dir>/config.json` (or `config.yaml`), then the environment
    /// (`COORDINATION_HUB_<KEY>`), then `--set KEY=VALUE` flags, each overriding the one before (§14).
    static func load(stateDirectory: String, environment: [String: String], overrides: [(String, String)])
        throws(HubError)
        -> Configuration
    {
        var config = Configuration()
        // A symbolic link whose target has gone counts as there (and fails to be read): taken
        // for absent, the defaults replaced its settings without a word (a webhook allowlist among them).
        let present = Paths.configurationFiles.filter {
            let path = (stateDirectory as NSString).appendingPathComponent($0)
            return FileManager.default.fileExists(atPath: path)
                || (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil
        }
        // Where each key was last set, so a value out of range is told with its source.
        var origins: [String: String] = [:]
        // Two of them: the one read first won and the other was ignored without a word.
        if present.count > 1 {
            throw HubError(
                .invalidParameters,
                "the state directory \(stateDirectory) has \(present.joined(separator: " and ")): only one configuration file is read",
                details: "Merge the settings into one of them and remove the other; nothing was run.",
                context: ["files": .strings(present)])
        }
        for name in present {
            let path = (stateDirectory as NSString).appendingPathComponent(name)
            let document: JSONValue
            do {
                // A YAML file with every setting commented out sets nothing.
                document = try ParameterSource.readDocument(
                    path: path, what: "configuration file", emptyYAML: .emptyObject)
            } catch {
                // Not the command's arguments: the file is the problem, and the command is not run.
                throw HubError(
                    .invalidParameters, error.message,
                    details: "Fix or remove the configuration file \(path); nothing was run.")
            }
            guard var members = document.objectValue else {
                throw HubError(.invalidParameters, "configuration file \(path) must hold an object")
            }
            if let section = members["coordination_defaults"] {
                // The seed's layout: the keys under coordination_defaults (§14).
                guard let nested = section.objectValue else {
                    throw HubError(
                        .invalidParameters,
                        "configuration \(path): coordination_defaults must be an object of settings, got \(section.typeName)",
                        context: ["field": "coordination_defaults"])
                }
                members["coordination_defaults"] = nil
                for (k, v) in nested.sorted(by: { $0.key < $1.key }) {
                    // Given twice, one of them would be dropped without a word.
                    if members[k] != nil {
                        throw HubError(
                            .invalidParameters,
                            "configuration \(path): '\(k.prefix(64))' is given both at the top level and under coordination_defaults; keep one",
                            context: ["field": .string(k)])
                    }
                    members[k] = v
                }
            }
            for (key, value) in members {
                try config.set(key, value, origin: path)
                origins[key] = path
            }
            break
        }
        for key in Configuration.keys {
            if let text = environment["COORDINATION_HUB_\(key.uppercased())"] {
                // A list or an object is read as JSON, as --set reads it (a JSON list of backup
                // roots was one root named by the whole text); anything else is the text itself.
                let origin = "environment variable COORDINATION_HUB_\(key.uppercased())"
                var value = JSONValue.string(text)
                if let first = text.first(where: { $0 != " " }), first == "[" || first == "{" {
                    do {
                        value = try JSONParser.parse(text)
                    } catch {
                        throw HubError(
                            .invalidParameters, "\(origin) is not valid JSON: \(error.reason) at byte \(error.offset)",
                            details: "A list or an object is read as JSON, as with --set.",
                            context: ["field": .string(key)])
                    }
                }
                try config.set(key, value, origin: origin)
                origins[key] = origin
            }
        }
        for (key, text) in overrides {
            let value = (try? JSONParser.parse(text)) ?? .string(text)
            try config.set(key, value, origin: "--set \(key)")
            origins[key] = "--set \(key)"
        }
        let problems = config.validate()
        if !problems.isEmpty {
            // Each problem names its key first ("resources.db must …"): told with where it was set.
            let keys = problems.map { String($0.prefix { $0 != " " && $0 != "." }) }
            let told = zip(keys, problems).map { key, problem in origins[key].map { "\($0): \(problem)" } ?? problem }
            var sources: [String] = []
            for key in keys { if let o = origins[key], !sources.contains(o) { sources.append(o) } }
            throw HubError(
                .invalidParameters, "invalid configuration: \(told.joined(separator: "; "))",
                details:
                    "Fix the setting\(problems.count == 1 ? "" : "s") in \(sources.isEmpty ? "the configuration" : sources.joined(separator: ", ")); nothing was run.",
                context: ["field": .string(keys[0]), "fields": .strings(keys)])
        }
        return config
    }
}

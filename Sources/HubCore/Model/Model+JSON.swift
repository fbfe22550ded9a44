extension AgentRequirements {
    /// `{"min_agents", "max_agents", "specialized_roles"}`.
    public var json: JSONValue {
        [
            "min_agents": .optional(minAgents), "max_agents": .optional(maxAgents),
            "specialized_roles": .strings(specializedRoles),
        ]
    }

    /// Reads the form ``json`` writes (also the seed's `min`/`max`).
    public init(json: JSONValue) {
        self.init(
            minAgents: (json["min_agents"] ?? json["min"])?.intValue.map { Int($0) },
            maxAgents: (json["max_agents"] ?? json["max"])?.intValue.map { Int($0) },
            specializedRoles: json["specialized_roles"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }
}

extension Dependencies.Entry {
    /// A plain name, or `{"name", "check_command"}` when there is a command.
    public var json: JSONValue {
        guard let checkCommand else { return .string(name) }
        return ["name": .string(name), "check_command": .string(checkCommand)]
    }

    /// Reads a plain name or `{"name", "check_command"}`.
    public init?(json: JSONValue) {
        if let name = json.stringValue {
            self.init(name: name)
        } else if let name = json["name"]?.stringValue {
            self.init(name: name, checkCommand: json["check_command"]?.stringValue)
        } else {
            return nil
        }
    }
}

extension Dependencies {
    /// `{"external": [...], "internal": [...]}`.
    public var json: JSONValue {
        ["external": .array(external.map(\.json)), "internal": .array(`internal`.map(\.json))]
    }

    /// Reads `{"external", "internal"}` or a plain list (which means `external`).
    public init(json: JSONValue) {
        if let list = json.arrayValue {
            self.init(external: list.compactMap(Entry.init(json:)))
        } else {
            self.init(
                external: json["external"]?.arrayValue?.compactMap(Entry.init(json:)) ?? [],
                internal: json["internal"]?.arrayValue?.compactMap(Entry.init(json:)) ?? [])
        }
    }
}

extension JSONValue {
    /// Parses stored JSON text; text that does not parse (never written by the hub) reads as `null`.
    public static func stored(_ text: String?) -> JSONValue? {
        guard let text else { return nil }
        // Most list and map columns are empty: no parser needed for those.
        if text == "[]" { return .array([]) }
        if text == "{}" { return .emptyObject }
        return (try? JSONParser.parse(text)) ?? .null
    }
}

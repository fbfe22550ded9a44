extension Schema {
    /// Checks `value` against the schema. Throws `INVALID_PARAMETERS` naming the
    /// first offending field (`phases[2].name`) and what is wrong with it.
    public func validate(_ value: JSONValue, path: String = "") throws(HubError) {
        let here = path.isEmpty ? "parameters" : path
        switch kind {
        case .any:
            return
        case .anyOf(let options):
            for option in options where (try? option.validateTyped(value, path: path)) != nil { return }
            // Keys of different alternatives together ({"sequence": 1, "time": "…"}): said so, rather
            // than the first alternative's "'time' is not a known parameter".
            let shapes = options.compactMap { option -> Set<String>? in
                guard case .object(let properties, nil) = option.kind else { return nil }
                return Set(properties.map(\.name))
            }
            if case .object(let members) = value, shapes.count > 1 {
                let keys = Set(members.keys)
                if keys.count > 1, keys.isSubset(of: shapes.reduce([], { $0.union($1) })),
                    !shapes.contains(where: keys.isSubset(of:))
                {
                    throw HubError.parameter(
                        here,
                        "takes one of \(shapes.flatMap { $0.sorted() }.joined(separator: ", ")), not several: got \(keys.sorted().joined(separator: " and "))"
                    )
                }
            }
            // Report against the object alternative that has these keys ({"time": "2026-01-01"} is the
            // time alternative's bad time, not a key unknown to the first), else the alternative of
            // the same JSON type: its message is the useful one.
            if case .object(let members) = value,
                let shaped = options.first(where: { option in
                    guard case .object(let properties, nil) = option.kind else { return false }
                    return !members.isEmpty && Set(members.keys).isSubset(of: Set(properties.map(\.name)))
                })
            {
                try shaped.validate(value, path: path)
            }
            if let sameType = options.first(where: { $0.accepts(typeOf: value) }) {
                try sameType.validate(value, path: path)
            }
            throw HubError.parameter(here, "must be \(typeDescription), got \(value.typeName)")
        default:
            try validateTyped(value, path: path)
        }
    }

    private func validateTyped(_ value: JSONValue, path: String) throws(HubError) {
        let here = path.isEmpty ? "parameters" : path
        switch (kind, value) {
        case (.any, _):
            return
        case (.anyOf, _):
            try validate(value, path: path)
        case (.string, .string(let s)):
            // SQLite's text binding (GRDB's) ends a string at its first NUL: "lease_x\u0000junk" named
            // lease_x. No text parameter can hold one; free JSON (data, payload) is stored as JSON text.
            if s.utf8.contains(0) {
                throw HubError.parameter(here, "contains a NUL character (\\u0000), which no text parameter can hold")
            }
            if let enumValues, !enumValues.contains(s) {
                throw HubError.parameter(
                    here, "must be one of \(enumValues.joined(separator: ", ")), got \"\(s.prefix(64))\"")
            }
            if let minLength, s.count < minLength {
                throw HubError.parameter(
                    here, minLength == 1 ? "must not be empty" : "is shorter than \(minLength) characters")
            }
            if let maxLength, s.count > maxLength {
                throw HubError.parameter(here, "is longer than \(maxLength) characters")
            }
            switch format {
            case .duration?:
                switch HubDuration.read(s) {
                case .duration: break
                case .tooLong:
                    throw HubError.parameter(
                        here,
                        "is longer than the hub can hold (at most 104166666d, about 285,000 years), got \"\(s.prefix(64))\""
                    )
                case .malformed:
                    throw HubError.parameter(
                        here, "must be a duration such as 250ms, 5s, 15m, 2h, 7d or \"1h 15m\", got \"\(s.prefix(64))\""
                    )
                }
            case .dateTime?:
                guard Timestamp.parseMilliseconds(s) != nil else {
                    throw HubError.parameter(
                        here, "must be an RFC 3339 timestamp such as 2026-01-15T12:00:00Z, got \"\(s.prefix(64))\"")
                }
            case .id?:
                if let problem = Identifier.problem(with: s) { throw HubError.parameter(here, problem) }
            case nil:
                break
            }
        case (.integer, _):
            guard let i = value.intValue, value.typeName != "number" || value.doubleValue == Double(i) else {
                throw HubError.parameter(here, "must be an integer, got \(value.typeName)")
            }
            try checkRange(Double(i), here, shown: String(i))
        case (.number, .int), (.number, .double):
            try checkRange(value.doubleValue ?? 0, here)
        case (.boolean, .bool), (.null, .null):
            return
        case (.array(let items), .array(let elements)):
            if let minItems, elements.count < minItems {
                throw HubError.parameter(
                    here,
                    elements.isEmpty
                        ? "is empty: give at least \(minItems == 1 ? "one" : "\(minItems)"), or leave it out where it is optional"
                        : "has \(elements.count) items; at least \(minItems) are needed")
            }
            if let maxItems, elements.count > maxItems {
                throw HubError.parameter(here, "has \(elements.count) items; at most \(maxItems) are allowed")
            }
            for (n, element) in elements.enumerated() { try items.validate(element, path: "\(here)[\(n)]") }
        case (.object(let props, let additional), .object(let members)):
            let prefix = path.isEmpty ? "" : path + "."
            for prop in props where prop.required && members[prop.name] == nil {
                throw HubError.parameter(prefix + prop.name, "is required")
            }
            for (key, member) in members {
                if key.utf8.contains(0) {
                    throw HubError.parameter(
                        prefix + key.replacingOccurrences(of: "\u{0}", with: "\\u0000"),
                        "is a name with a NUL character (\\u0000), which no name can hold")
                }
                if let prop = props.first(where: { $0.name == key }) {
                    try prop.schema.validate(member, path: prefix + key)
                } else if let additional {
                    guard !key.isEmpty else { throw HubError.parameter(here, "has an empty key; name every entry") }
                    try additional.validate(member, path: prefix + key)
                } else {
                    let known = props.map(\.name)
                    var message = "is not a known parameter"
                    if let guess = Self.closest(to: key, in: known) { message += " (did you mean '\(guess)'?)" }
                    message += "; known: \(known.isEmpty ? "none" : known.joined(separator: ", "))"
                    throw HubError.parameter(prefix + key, message)
                }
            }
        default:
            throw HubError.parameter(
                here, "must be \(typeDescription), got \(value.typeName)\(hint.map { ": \($0)" } ?? "")")
        }
    }

    /// `shown`: the value as given, when it is an integer (a Double prints 10^17 as 1e+17).
    private func checkRange(_ v: Double, _ here: String, shown: String? = nil) throws(HubError) {
        if let minimum, v < Double(minimum) {
            throw HubError.parameter(here, "must be at least \(minimum), got \(shown ?? Self.show(v))")
        }
        if let exclusiveMinimum, v <= Double(exclusiveMinimum) {
            throw HubError.parameter(here, "must be more than \(exclusiveMinimum), got \(shown ?? Self.show(v))")
        }
        if let maximum, v > Double(maximum) {
            throw HubError.parameter(here, "must be at most \(maximum), got \(shown ?? Self.show(v))")
        }
    }

    private static func show(_ v: Double) -> String {
        v.rounded() == v && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }

    private func accepts(typeOf value: JSONValue) -> Bool {
        switch (kind, value) {
        case (.string, .string), (.boolean, .bool), (.array, .array), (.object, .object), (.any, _), (.null, .null):
            return true
        case (.integer, .int), (.number, .int), (.number, .double): return true
        default: return false
        }
    }

    /// "a string", "an integer", … for messages.
    public var typeDescription: String {
        switch kind {
        case .string:
            // A single value is named as itself: "an integer or \"adaptive\"", not "or one of adaptive".
            if let enumValues, enumValues.count == 1 { return "\"\(enumValues[0])\"" }
            if let enumValues { return "one of \(enumValues.joined(separator: "|"))" }
            switch format {
            case .duration?: return "a duration string"
            case .dateTime?: return "an RFC 3339 timestamp"
            default: return "a string"
            }
        case .integer: return "an integer"
        case .number: return "a number"
        case .boolean: return "a boolean"
        case .array: return "an array"
        case .object: return "an object"
        case .anyOf(let options):
            // Alternatives that read the same (two object shapes are both "an object") are named once.
            var names: [String] = []
            for name in options.map(\.typeDescription) where !names.contains(name) { names.append(name) }
            return names.joined(separator: " or ")
        case .any: return "any JSON value"
        case .null: return "null"
        }
    }

    /// The known name nearest to a typo (edit distance at most 2), if any.
    public static func closest(to key: String, in names: [String]) -> String? {
        let k = Array(key.lowercased().prefix(64))
        var best: (String, Int)?
        for name in names {
            let n = Array(name)
            var row = Array(0...n.count)
            for (i, a) in k.enumerated() {
                var prev = row[0]
                row[0] = i + 1
                for (j, b) in n.enumerated() {
                    let cur = row[j + 1]
                    row[j + 1] = Swift.min(row[j + 1] + 1, row[j] + 1, prev + (a == b ? 0 : 1))
                    prev = cur
                }
            }
            if row[n.count] <= 2, row[n.count] < (best?.1 ?? Int.max) { best = (name, row[n.count]) }
        }
        return best?.0
    }
}

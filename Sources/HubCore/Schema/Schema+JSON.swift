extension Schema {
    /// What ``HubDuration/read(_:)`` accepts: parts of digits (with a fraction after a digit) and a
    /// unit written together, separated by spaces, with whitespace around.
    public static let durationPattern = "^\\s*[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)( *[0-9]+(\\.[0-9]+)?(ms|s|m|h|d))*\\s*$"

    /// The schema as a JSON Schema document (draft 2020-12, as OpenAPI 3.1 and MCP use).
    public var json: JSONValue {
        var out: JSONValue = .emptyObject
        switch kind {
        case .string:
            out["type"] = "string"
            if let enumValues { out["enum"] = .strings(enumValues) }
            if let format {
                switch format {
                case .duration:
                    out["pattern"] = .string(Self.durationPattern)
                    if maxLength == nil { out["maxLength"] = .count(HubDuration.maximumTextLength) }
                case .dateTime: out["format"] = "date-time"
                case .id: out["pattern"] = "^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"
                }
            }
            if let minLength { out["minLength"] = .count(minLength) }
            if let maxLength { out["maxLength"] = .count(maxLength) }
        case .integer:
            out["type"] = "integer"
        case .number:
            out["type"] = "number"
        case .boolean:
            out["type"] = "boolean"
        case .array(let items):
            out["type"] = "array"
            out["items"] = items.json
            if let minItems { out["minItems"] = .count(minItems) }
            if let maxItems { out["maxItems"] = .count(maxItems) }
        case .object(let props, let additional):
            out["type"] = "object"
            var members: JSONValue = .emptyObject
            for p in props { members[p.name] = p.schema.json }
            out["properties"] = members
            let required = props.filter(\.required).map(\.name)
            if !required.isEmpty { out["required"] = .strings(required) }
            out["additionalProperties"] = additional?.json ?? false
            if additional != nil { out["propertyNames"] = ["minLength": 1] }
        case .anyOf(let options):
            out["anyOf"] = .array(options.map(\.json))
        case .any:
            break
        case .null:
            out["type"] = "null"
        }
        if let minimum { out["minimum"] = .int(minimum) }
        if let exclusiveMinimum { out["exclusiveMinimum"] = .int(exclusiveMinimum) }
        if let maximum { out["maximum"] = .int(maximum) }
        if let summary { out["description"] = .string(summary) }
        if let defaultValue { out["default"] = defaultValue }
        return out
    }
}

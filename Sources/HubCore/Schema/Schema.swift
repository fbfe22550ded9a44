/// A JSON Schema (the subset the operation table needs), from which parameter
/// validation, `help`, MCP tool schemas and the OpenAPI document are all generated.
public struct Schema: Sendable {
    /// The shape of the value.
    public indirect enum Kind: Sendable {
        case string
        case integer
        case number
        case boolean
        case array(Schema)
        /// Known properties; unknown keys are refused unless `additional` says what they hold.
        case object([Property], additional: Schema?)
        /// Any one of the alternatives.
        case anyOf([Schema])
        /// Any JSON value.
        case any
        /// `null` only: beside another schema in an `anyOf`, where `null` means "remove it".
        case null
    }

    /// A named member of an object schema.
    public struct Property: Sendable {
        public var name: String
        public var schema: Schema
        public var required: Bool
        public init(_ name: String, _ schema: Schema, required: Bool = false) {
            self.name = name
            self.schema = schema
            self.required = required
        }
    }

    public var kind: Kind
    public var summary: String?
    /// Allowed values of a string.
    public var enumValues: [String]?
    /// `duration`, `date-time` or `id`: checked beyond the type.
    public var format: Format?
    public var minimum: Int64?
    /// A number must be more than this (JSON Schema's `exclusiveMinimum`).
    public var exclusiveMinimum: Int64?
    public var maximum: Int64?
    public var minLength: Int?
    public var maxLength: Int?
    public var maxItems: Int?
    /// An array must hold at least this many items (JSON Schema's `minItems`).
    public var minItems: Int?
    /// The default, for documentation.
    public var defaultValue: JSONValue?
    /// What to write instead, added to the refusal of a value of another type (a likely mix-up).
    public var hint: String?

    /// Formats the validator checks.
    public enum Format: String, Sendable {
        case duration
        case dateTime = "date-time"
        case id
    }

    public init(_ kind: Kind, _ summary: String? = nil) {
        self.kind = kind
        self.summary = summary
    }
}

extension Schema {
    public static func string(_ summary: String? = nil, maxLength: Int? = nil) -> Schema {
        var s = Schema(.string, summary)
        s.maxLength = maxLength
        return s
    }
    /// A string that names something (a role, a resource, an error's type): at least one character.
    public static func name(_ summary: String? = nil, maxLength: Int) -> Schema {
        var s = Schema(.string, summary)
        s.minLength = 1
        s.maxLength = maxLength
        return s
    }
    public static func oneOf(_ values: [String], _ summary: String? = nil) -> Schema {
        var s = Schema(.string, summary)
        s.enumValues = values
        return s
    }
    public static func duration(_ summary: String? = nil) -> Schema {
        var s = Schema(.string, summary)
        s.format = .duration
        return s
    }
    public static func dateTime(_ summary: String? = nil) -> Schema {
        var s = Schema(.string, summary)
        s.format = .dateTime
        return s
    }
    public static func id(_ summary: String? = nil) -> Schema {
        var s = Schema(.string, summary)
        s.format = .id
        return s
    }
    public static func integer(_ summary: String? = nil, min: Int64? = nil, max: Int64? = nil) -> Schema {
        var s = Schema(.integer, summary)
        s.minimum = min
        s.maximum = max
        return s
    }
    public static func number(_ summary: String? = nil, min: Int64? = nil, max: Int64? = nil, above: Int64? = nil)
        -> Schema
    {
        var s = Schema(.number, summary)
        s.minimum = min
        s.exclusiveMinimum = above
        s.maximum = max
        return s
    }
    public static func boolean(_ summary: String? = nil) -> Schema { Schema(.boolean, summary) }
    public static func array(_ items: Schema, _ summary: String? = nil, minItems: Int? = nil, maxItems: Int? = nil)
        -> Schema
    {
        var s = Schema(.array(items), summary)
        s.minItems = minItems
        s.maxItems = maxItems
        return s
    }
    public static func object(_ properties: [Property], _ summary: String? = nil) -> Schema {
        Schema(.object(properties, additional: nil), summary)
    }
    /// An object of free keys, each holding a `values`; keys are never empty.
    public static func map(_ values: Schema, _ summary: String? = nil) -> Schema {
        Schema(.object([], additional: values), summary)
    }
    public static func anyOf(_ options: [Schema], _ summary: String? = nil) -> Schema {
        Schema(.anyOf(options), summary)
    }
    public static func anyJSON(_ summary: String? = nil) -> Schema { Schema(.any, summary) }

    /// This schema, or `null` (which the operation reads as "remove it"), described by `summary`.
    public func orNull(_ summary: String) -> Schema {
        var plain = self
        plain.summary = nil
        return .anyOf([plain, Schema(.null)], summary)
    }

    /// The same schema with a hint for a value of the wrong type.
    public func hinting(_ text: String) -> Schema {
        var s = self
        s.hint = text
        return s
    }

    /// The same schema with a default value noted.
    public func defaulting(_ value: JSONValue) -> Schema {
        var s = self
        s.defaultValue = value
        return s
    }

    /// The properties of an object schema (empty for other kinds).
    public var properties: [Property] {
        if case .object(let props, _) = kind { return props }
        return []
    }
}

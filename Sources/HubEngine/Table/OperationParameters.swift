import Foundation
import HubCore

/// The parameters of one operation: a `Decodable` type plus the JSON Schema that
/// describes it. The schema is checked first (unknown keys, types, ranges, formats),
/// so decoding meets only well-formed input.
public protocol OperationParameters: Decodable, Sendable {
    /// The parameters' schema: an object schema whose property names are the wire names.
    static var schema: Schema { get }
    /// Decodes validated parameters; the default goes through `Decodable`.
    static func decode(_ value: JSONValue) throws(HubError) -> Self
}

extension OperationParameters {
    /// Decodes validated parameters (snake_case keys onto camelCase properties).
    public static func decode(_ value: JSONValue) throws(HubError) -> Self {
        try decodeThroughDecodable(value)
    }

    /// Decodes validated parameters through `Decodable` (snake_case keys onto camelCase properties).
    static func decodeThroughDecodable(_ value: JSONValue) throws(HubError) -> Self {
        do {
            return try JSONValueDecoder().decode(Self.self, from: value)
        } catch let error as HubError {
            throw error
        } catch let error as DecodingError {
            throw Self.describe(error)
        } catch {
            throw HubError.parameter("parameters", "could not be read: \(error)")
        }
    }

    private static func describe(_ error: DecodingError) -> HubError {
        func path(_ context: DecodingError.Context) -> String {
            let parts = context.codingPath.map { key -> String in
                if let i = key.intValue { return "[\(i)]" }
                // Undo convertFromSnakeCase so the message names the wire key.
                var out = ""
                for ch in key.stringValue {
                    if ch.isUppercase {
                        out += "_" + ch.lowercased()
                    } else {
                        out.append(ch)
                    }
                }
                return "." + out
            }
            let joined = parts.joined()
            return joined.hasPrefix(".") ? String(joined.dropFirst()) : (joined.isEmpty ? "parameters" : joined)
        }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return HubError.parameter(path(context), context.debugDescription)
        case .keyNotFound(let key, let context):
            let prefix = path(context)
            return HubError.parameter(
                prefix == "parameters" ? key.stringValue : prefix + "." + key.stringValue, "is required")
        @unknown default:
            return HubError.parameter("parameters", "could not be read")
        }
    }
}

/// For operations that take no parameters beyond the common ones.
public struct NoParameters: OperationParameters {
    public static let schema = Schema.object([])
}

extension HubDuration: Decodable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = HubDuration(parsing: text) else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath, debugDescription: "must be a duration such as 15m, got \"\(text)\"")
            )
        }
        self = parsed
    }
}

/// A phase given by number or by name.
public enum PhaseReference: Decodable, Sendable, Equatable {
    case number(Int)
    case name(String)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int.self) {
            self = .number(n)
        } else {
            self = .name(try c.decode(String.self))
        }
    }

    static let schema = Schema.anyOf([.integer("Phase number, 1-based.", min: 1), .string("Phase name.")])

    /// Resolves against the workflow's phases; `INVALID_PARAMETERS` when there is no such phase.
    func resolve(in phases: [Phase], field: String) throws(HubError) -> Int {
        switch self {
        case .number(let n):
            guard phases.contains(where: { $0.phaseID == n }) else {
                throw HubError.parameter(field, "names phase \(n), but the workflow has phases 1–\(phases.count)")
            }
            return n
        case .name(let name):
            guard let p = phases.first(where: { $0.name == name }) else {
                throw HubError.parameter(
                    field, "names no phase of the workflow (phases: \(phases.map(\.name).joined(separator: ", ")))")
            }
            return p.phaseID
        }
    }
}

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// The HTTP client of a load run: POSTs JSON to the hub's operations and decodes the
/// §3 envelope. One client per process; `connections` bounds the HTTP/1.1 connections
/// it keeps to the server (one request at a time on each).
struct HubClient: Sendable {
    let http: HTTPClient
    let base: String

    /// Runs `body` with a client of `base`, shutting the client down afterwards, also on errors.
    static func with<T>(
        _ base: String, connections: Int, _ body: (HubClient) async throws -> T
    ) async throws -> T {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        // No read timeout: an event stream is quiet between events; requests have deadlines.
        configuration.timeout = .init(connect: .seconds(10), read: nil)
        configuration.httpVersion = .http1Only
        configuration.decompression = .disabled
        let client = HubClient(
            http: HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration), base: base)
        do {
            let result = try await body(client)
            try? await client.http.shutdown()
            return result
        } catch {
            try? await client.http.shutdown()
            throw error
        }
    }

    /// POSTs `body` to `path` and returns the status and the whole response body.
    func post(_ path: String, body: ByteBuffer, timeout: TimeAmount = .seconds(120)) async throws -> (
        status: Int, body: ByteBuffer
    ) {
        var request = HTTPClientRequest(url: base + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(body)
        return try await send(request, timeout: timeout)
    }

    /// GETs `path` and returns the status and the whole response body.
    func get(_ path: String, timeout: TimeAmount = .seconds(120)) async throws -> (status: Int, body: ByteBuffer) {
        try await send(HTTPClientRequest(url: base + path), timeout: timeout)
    }

    private func send(_ request: HTTPClientRequest, timeout: TimeAmount) async throws -> (
        status: Int, body: ByteBuffer
    ) {
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch {
            throw LoadError("\(request.method) \(request.url): \(error)")
        }
        let body = try await response.body.collect(upTo: 512 * 1024 * 1024)
        return (Int(response.status.code), body)
    }

    /// Runs `operation` (a path under /v1, e.g. `workflows/w1/start` or `register-agent`)
    /// with `parameters` and decodes the envelope's `result` as `R`; an error envelope or a
    /// non-200 status throws a `LoadError` naming the hub's error code and message.
    func call<R: Decodable>(
        _ operation: String, _ parameters: some Encodable, as type: R.Type, timeout: TimeAmount = .seconds(120)
    ) async throws -> R {
        try await callTimed(operation, parameters, as: type, timeout: timeout).result
    }

    /// `call`, with the hub's own time for the operation (`metrics.execution_time`).
    func callTimed<R: Decodable>(
        _ operation: String, _ parameters: some Encodable, as type: R.Type, timeout: TimeAmount = .seconds(120)
    ) async throws -> (result: R, executionNs: Int64?) {
        let body = ByteBuffer(data: try JSONEncoder().encode(parameters))
        let (status, answer) = try await post("/v1/" + operation, body: body, timeout: timeout)
        return try Self.answer(of: operation, status: status, body: answer, as: type)
    }

    /// The `result` of a success envelope, or the `LoadError` of anything else.
    static func result<R: Decodable>(of operation: String, status: Int, body: ByteBuffer, as type: R.Type) throws
        -> R
    {
        try answer(of: operation, status: status, body: body, as: type).result
    }

    /// The `result` of a success envelope with the hub's own time for the operation
    /// (`metrics.execution_time`, in nanoseconds, 0.1 ms resolution), or the `LoadError`
    /// of anything else.
    static func answer<R: Decodable>(of operation: String, status: Int, body: ByteBuffer, as type: R.Type) throws
        -> (result: R, executionNs: Int64?)
    {
        let envelope: Envelope<R>
        do {
            envelope = try JSONDecoder().decode(Envelope<R>.self, from: body)
        } catch {
            let text = String(buffer: body).prefix(300)
            throw LoadError("\(operation): HTTP \(status), not the expected response (\(error)): \(text)")
        }
        guard status == 200, envelope.status == "success", let result = envelope.result else {
            throw LoadError.hub(operation, status: status, code: envelope.error?.code, message: envelope.error?.message)
        }
        return (result, envelope.metrics?.executionTime.flatMap(nanoseconds(measured:)))
    }

    /// `2.3ms` or `1.25s` (the hub's `formatMeasured`) in nanoseconds.
    static func nanoseconds(measured text: String) -> Int64? {
        if text.hasSuffix("ms"), let value = Double(text.dropLast(2)) { return Int64(value * 1e6) }
        if text.hasSuffix("s"), let value = Double(text.dropLast()) { return Int64(value * 1e9) }
        return nil
    }
}

/// The §3 response envelope, with the parts a load run reads.
struct Envelope<Result: Decodable>: Decodable {
    let status: String
    let result: Result?
    let error: ErrorBody?
    let metrics: Metrics?

    struct Metrics: Decodable {
        let executionTime: String?
        enum CodingKeys: String, CodingKey { case executionTime = "execution_time" }
    }

    struct ErrorBody: Decodable {
        let code: String?
        let message: String?
    }
}

/// A result whose content is not read.
struct Ignored: Decodable {
    init(from decoder: any Decoder) throws {}
}

/// Parameters given as a dictionary of JSON-encodable values.
typealias Parameters = [String: JSONParameter]

/// One JSON value of a request's parameters.
enum JSONParameter: Encodable, Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case int(Int)
    case array([JSONParameter])
    case object([String: JSONParameter])

    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int) { self = .int(value) }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

import Foundation
import HubCore
import HubEngine
import HubServer
import HubTesting
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// The OpenAPI document is generated from the operation table, served, and committed (§13).
@Suite struct OpenAPIDocumentTests {
    static let document = OpenAPIDocument.make(.standard, version: Hub.version)

    @Test func everyOperationHasItsPathsWithItsParameterSchema() throws {
        let paths = try #require(Self.document["paths"])
        for op in OperationTable.standard.operations {
            let post = try #require(paths["/v1/workflows/{workflow_id}/\(op.name)"]?["post"], "\(op.name)")
            #expect(post["requestBody"]?["content"]?["application/json"]?["schema"] == op.schema.json)
            #expect((paths["/v1/\(op.name)"] != nil) == (op.scope == .hub), "\(op.name)")
        }
        #expect(paths["/v1/events/stream"]?["get"] != nil)
        #expect(Self.document["openapi"] == "3.1.0")
    }

    /// The workflow id was "the workflow it is about" for every hub operation, also those it
    /// narrows nothing for: the body's workflow_id and the path's say what it does there.
    @Test func theWorkflowIDSaysWhatItDoesForEachOperation() throws {
        let paths = try #require(Self.document["paths"])
        func body(_ op: String) -> String? {
            paths["/v1/\(op)"]?["post"]?["requestBody"]?["content"]?["application/json"]?["schema"]?["properties"]?[
                "workflow_id"]?["description"]?.stringValue
        }
        func path(_ op: String) -> String? {
            paths["/v1/workflows/{workflow_id}/\(op)"]?["post"]?["parameters"]?.arrayValue?.first?["description"]?
                .stringValue
        }
        #expect(body("monitor-pool")?.contains("narrows nothing") == true)
        #expect(body("list-workflows")?.contains("narrows nothing") == true)
        #expect(body("claim-task") == "Only this workflow's tasks are handed out.")
        #expect(path("claim-task") == body("claim-task"))
        #expect(path("pause") == "The workflow to act on.")
    }

    @Test func theCommittedDocumentIsTheGeneratedOne() throws {
        // Tests/HubServerTests/<this file> → the package root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let committed = try Data(contentsOf: root.appendingPathComponent("docs/openapi.json"))
        let parsed = try JSONParser.parse(bytes: [UInt8](committed))
        #expect(
            parsed == Self.document,
            "docs/openapi.json is out of date: run 'coordination-hub openapi > docs/openapi.json' and commit it")
    }

    /// The served document named http://127.0.0.1:8080 whatever the server listened on: it
    /// names the address the request reached (the generated, committed one is unchanged).
    @Test func theServedDocumentNamesTheAddressItWasFetchedFrom() throws {
        func server(_ address: SocketAddress?) -> JSONValue? {
            OpenAPIDocument.served(Self.document, at: address)["servers"]
        }
        #expect(server(try SocketAddress(ipAddress: "127.0.0.1", port: 43210)) == [["url": "http://127.0.0.1:43210"]])
        #expect(server(try SocketAddress(ipAddress: "::1", port: 9)) == [["url": "http://[::1]:9"]])
        #expect(server(nil) == Self.document["servers"])
        #expect(Self.document["servers"] == [["url": "http://127.0.0.1:8080"]])
    }

    @Test func theServerServesIt() async throws {
        let t = try TestHub()
        defer { t.remove() }
        try await Application(router: HubRouter.make(hub: t.hub, maxBodySize: 1 << 20)).test(.router) { client in
            try await client.execute(uri: "/openapi.json", method: .get) { r in
                #expect(r.status == .ok)
                let served = try JSONParser.parse(bytes: Array(r.body.readableBytesView))
                #expect(served == Self.document)
            }
        }
    }
}

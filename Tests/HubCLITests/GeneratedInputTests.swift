import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

/// Generated, mostly malformed parameter documents through every operation of the
/// table: each answer is a success or a documented error code, never INTERNAL, never a crash.
@Suite struct GeneratedInputTests {
    static let documentsPerOperation = 60
    static let codes = Set(HubError.Code.all.map(\.name))

    /// Workflows for the generated requests to hit: running with tasks, archived, and ids that do not exist or are bad.
    static func prepare(_ testHub: TestHub) async throws {
        for (id, parameters) in [
            ("gen_wf", #"{"phases": [{"name": "setup", "tasks": [{"task_id": "t_0"}, {"task_id": "t_1"}]}, "ship"]}"#),
            ("gen_archived", #"{"phases": ["only"]}"#),
        ] {
            #expect(await testHub.run(id, "create", parameters).succeeded)
            #expect(await testHub.run(id, "start").succeeded)
        }
        #expect(await testHub.run("gen_archived", "complete", #"{"force": true}"#).succeeded)
        #expect(await testHub.run("gen_archived", "cleanup").succeeded)
    }

    /// Checks one response: a success, or an error with a known code other than INTERNAL.
    static func check(_ response: OperationResponse, _ label: @autoclosure () -> String) {
        let status = response.json["status"]?.stringValue
        if response.succeeded {
            #expect(status == "success", "\(label())")
            return
        }
        let code = response.json["error"]?["code"]?.stringValue ?? "<none>"
        #expect(status == "error", "\(label())")
        #expect(codes.contains(code), "unknown code \(code): \(label())")
        #expect(code != "INTERNAL", "\(label()) → \(response.json.serialized().prefix(600))")
        #expect(code == response.errorCode)
    }

    @Test func generatedParameterDocumentsGetASuccessOrADocumentedErrorFromEveryOperation() async throws {
        let testHub = try TestHub()
        defer { testHub.remove() }
        try await Self.prepare(testHub)
        var generator = InputGenerator(seed: 0xC0FF_EE15_600D)
        var total = 0
        var outcomes: [String: Int] = [:]
        for descriptor in OperationTable.standard.operations {
            for n in 0..<Self.documentsPerOperation {
                let parameters = generator.parameters(for: descriptor.schema)
                let workflowID: String? =
                    descriptor.scope == .hub && generator.chance(60)
                    ? nil
                    : generator.pick([
                        "gen_wf", "gen_wf", "gen_archived", "gen_new_\(n)", "missing", "../x", "", "create",
                    ])
                let request = OperationRequest(
                    workflowID: workflowID, operation: descriptor.name, parameters: parameters)
                let response = await testHub.hub.perform(request)
                Self.check(
                    response,
                    "\(descriptor.name) #\(n) on \(workflowID ?? "-") with \(parameters.serialized().prefix(300))")
                outcomes[response.errorCode ?? "success", default: 0] += 1
                total += 1
            }
        }
        #expect(total >= 1_000)
        // The generator must reach past validation sometimes, or it tests only the schema.
        #expect((outcomes["success"] ?? 0) > 20, "\(outcomes)")
        #expect((outcomes["INVALID_PARAMETERS"] ?? 0) > 100, "\(outcomes)")
    }

    @Test func mangledBytesMakeTheParserThrowOrAnswerNeverCrash() async throws {
        let testHub = try TestHub()
        defer { testHub.remove() }
        try await Self.prepare(testHub)
        var generator = InputGenerator(seed: 42)
        var rejected = 0
        let operations = OperationTable.standard.operations
        for n in 0..<1_200 {
            let descriptor = operations[n % operations.count]
            let bytes = generator.mangledBytes(of: generator.parameters(for: descriptor.schema))
            let parsed: JSONValue
            do {
                parsed = try JSONParser.parse(bytes: bytes)
            } catch {
                #expect(!error.reason.isEmpty)
                rejected += 1
                continue
            }
            // What parses goes through the table like a door would send it: objects only.
            guard case .object = parsed else { continue }
            let id: String? = descriptor.scope == .workflow ? "gen_wf" : nil
            let response = await testHub.hub.perform(
                OperationRequest(workflowID: id, operation: descriptor.name, parameters: parsed))
            Self.check(response, "\(descriptor.name) #\(n) with bytes \(bytes.prefix(200))")
        }
        #expect(rejected > 300, "most mangled documents are not JSON")
        // The parser's depth limit holds for very deep input.
        let tooDeep =
            Array(String(repeating: "[", count: 10_000).utf8) + Array(String(repeating: "]", count: 10_000).utf8)
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(bytes: tooDeep) }
    }

    @Test func generatedDocumentsThroughTheExecutableNeverCrashIt() throws {
        let hub = try CLISandbox("generated")
        defer { hub.remove() }
        try hub.succeed("gen_wf", "create", #"{"phases": [{"name": "setup", "tasks": [{"task_id": "t_0"}]}]}"#)
        try hub.succeed("gen_wf", "start")
        var generator = InputGenerator(seed: 7)
        let operations = OperationTable.standard.operations
        for n in 0..<50 {
            let descriptor = operations[n % operations.count]
            let document = generator.parameters(for: descriptor.schema)
            let text =
                n % 5 == 4
                ? String(decoding: generator.mangledBytes(of: document), as: UTF8.self) : document.serialized()
            var arguments = descriptor.scope == .workflow ? ["gen_wf", descriptor.name] : [descriptor.name]
            // Long documents go through standard input: the kernel limits one argument's length.
            let viaStdin = text.utf8.count > 60_000 || text.utf8.contains(0)
            arguments.append(viaStdin ? "-" : text)
            let outcome = try hub.runner.run(arguments, stdin: viaStdin ? text : nil)
            let label = "\(arguments.prefix(2)) #\(n): \(text.prefix(200))"
            #expect([0, 1, 2].contains(outcome.status), "exit \(outcome.status) — \(label)\n\(outcome.stderr)")
            #expect(outcome.json.objectValue != nil, "stdout is not one JSON object — \(label): \(outcome.stdout)")
            let status = outcome.json["status"]?.stringValue
            #expect(status == (outcome.status == 0 ? "success" : "error"), "\(label)")
            if let code = outcome.errorCode {
                #expect(Self.codes.contains(code) && code != "INTERNAL", "\(code) — \(label)")
                #expect((code == "INVALID_ARGUMENTS") == (outcome.status == 2), "\(code) exit \(outcome.status)")
            }
        }
    }
}

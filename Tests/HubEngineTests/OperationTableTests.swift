import HubCore
import HubEngine
import Testing

@Suite struct OperationTableTests {
    let table = OperationTable.standard

    @Test func namesAreUniqueAndNotValidAsWorkflowIDsInTheTable() {
        #expect(Set(table.names).count == table.names.count)
    }

    @Test(arguments: OperationTable.standard.operations.map(\.name))
    func everyOperationIsDescribedForEveryDoor(_ name: String) throws {
        let op = try #require(table[name])
        #expect(!op.summary.isEmpty)
        #expect(op.example.contains("coordination-hub"))
        #expect(op.example.contains(name))
        #expect(op.schema.json["type"] == "object")
        #expect(op.schema.json["additionalProperties"] == false)
        #expect(op.mutating == op.schema.properties.contains { $0.name == "if_version" })
        let help = HelpText.operation(op)
        for property in op.schema.properties { #expect(help.contains(property.name)) }
    }

    /// `help subscribe-event` read "start_from: one of new|all or an object or an object": the
    /// alternatives of a parameter's type, at any depth, are each named once.
    @Test(arguments: OperationTable.standard.operations.map(\.name))
    func helpNamesEachAlternativeOfATypeOnce(_ name: String) throws {
        let op = try #require(table[name])
        func check(_ schema: Schema, _ path: String) {
            let alternatives = schema.typeDescription.components(separatedBy: " or ")
            #expect(Set(alternatives).count == alternatives.count, "\(name) \(path): \(schema.typeDescription)")
            for nested in schema.properties { check(nested.schema, path + "." + nested.name) }
        }
        for property in op.schema.properties { check(property.schema, property.name) }
        #expect(!HelpText.operation(op).contains("an object or an object"))
    }

    @Test func theExamplesParameterDocumentsAreValid() throws {
        for op in table.operations {
            guard let start = op.example.firstIndex(of: "'"), let end = op.example.lastIndex(of: "'"), start < end
            else { continue }
            let json = String(op.example[op.example.index(after: start)..<end])
            let value = try JSONParser.parse(json)
            try op.schema.validate(value)
        }
    }

    @Test func theOverviewListsEveryOperation() {
        let overview = HelpText.overview(table)
        for name in table.names { #expect(overview.contains(name)) }
    }
}

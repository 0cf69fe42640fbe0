import EngagementService
import Foundation
import Testing

/// The README's configuration table and the protocol reference's method table say what the code declares.
@Suite("Generated reference tables")
struct ReferenceTablesTests {
    @Test("every generated table in the docs matches the registry and the option declarations")
    func upToDate() throws {
        for section in ReferenceTables.sections {
            let document = try String(contentsOfFile: section.document, encoding: .utf8)
            let expected = try #require(ReferenceTables.splice(document, name: section.name, content: section.render()))
            #expect(document == expected, "\(section.document) (\(section.name)) is out of date: run `swift run engagementd docs --write`")
        }
    }

    @Test("the method table lists every registered method once, and the configuration table every option")
    func complete() {
        let registry = MethodRegistry.standard()
        let methods = ReferenceTables.methods(registry)
        for name in registry.names { #expect(methods.components(separatedBy: "| `\(name)` |").count == 2, "\(name)") }
        let configuration = ReferenceTables.configuration(ServerConfiguration.options)
        for option in ServerConfiguration.options { #expect(configuration.contains("| `\(option.variable)` |")) }
        // A changed declaration changes the table: the check above can fail.
        let fewer = MethodRegistry(Array(registry.definitions.dropLast()))
        #expect(ReferenceTables.methods(fewer) != methods)
    }

    @Test("every method declares a result schema, not prose: the OpenRPC document describes every reply")
    func resultSchemas() {
        for method in MethodRegistry.standard().definitions {
            if case .any = method.result { Issue.record("\(method.name) declares its result as prose") }
        }
    }
}

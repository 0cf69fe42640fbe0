import EngagementService
import Foundation
import PostgresClient
import Testing

/// A domain method is its declaration plus one SQL function: the functions exist, and no domain file holds SQL.
@Suite("Methods and their SQL functions")
struct MethodFunctionTests {
    @Test("every function a method declares exists as api.<name>(jsonb) RETURNS jsonb, callable by the server's role only")
    func declaredFunctionsExist() async throws {
        let deployment = try await TestCluster.shared.deployment("functions")
        let connection = try PostgresConnection.connect(try deployment.ownerURL)
        defer { connection.close() }
        let declared = MethodRegistry.standard().definitions.compactMap(\.function)
        #expect(declared.count > 80, "most methods are declared with their function")
        for function in declared {
            let found = try connection.query(
                """
                SELECT pg_get_function_result(p.oid), has_function_privilege('engagement_app', p.oid, 'EXECUTE'),
                       has_function_privilege('engagement_reporting', p.oid, 'EXECUTE')
                FROM pg_proc p WHERE p.oid = to_regprocedure($1 || '(jsonb)')
                """, [function.qualifiedName])
            #expect(found.rowCount == 1, "\(function.qualifiedName)(jsonb) does not exist")
            guard found.rowCount == 1 else { continue }
            #expect(found.string(0, 0) == "jsonb", "\(function.qualifiedName) returns \(found.string(0, 0) ?? "?")")
            #expect(found.bool(0, 1) == true && found.bool(0, 2) == false, "\(function.qualifiedName) privileges")
        }
    }

    @Test("no Swift file of the domain contains SQL text")
    func noSQLInDomainFiles() throws {
        let root = URL(fileURLWithPath: "Sources/EngagementService/Domain")
        let files = try #require(FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil))
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        #expect(files.count > 15)
        let sql = try Regex(#"\b(SELECT|INSERT INTO|UPDATE app|DELETE FROM|Statement\()"#)
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            #expect(text.firstMatch(of: sql) == nil, "\(file.lastPathComponent) contains SQL")
        }
    }
}

import LocalPostgres
import EngagementService
import Foundation
import JSONRPC
import Testing

/// clients/python: installed with pip (into a directory of the test's own, from the source tree), its generated
/// files equal to what the server's OpenRPC document generates, and its own unittest suite run against a real
/// server.
@Suite("Python client")
struct PythonClientTests {
    @Test("pip installs clients/python; client.py and errors.py are what rpc.discover generates; its tests pass against the server")
    func pythonClient() async throws {
        let server = try await ServerFixture.start("python-client", registry: TestMethods.registry)
        try await server.scoped {
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("engagement-python-\(randomToken(bytes: 4))")
            defer { try? FileManager.default.removeItem(at: work) }
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)

            // The generated files are current: the server's document (without the tests' own methods) generates them.
            let client = try await server.session(server.orgA)
            var document = try #require(try await client.call("rpc.discover")["result"]?.objectValue)
            let methods = (document["methods"]?.arrayValue ?? []).filter { $0["name"]?.stringValue?.hasPrefix("test.") == false }
            document["methods"] = .array(methods)
            let documentFile = work.appendingPathComponent("openrpc.json")
            try Data(JSONWriter.encode(.object(document))).write(to: documentFile)
            let generated = work.appendingPathComponent("generated")
            try FileManager.default.createDirectory(at: generated, withIntermediateDirectories: true)
            let generate = try await PythonTool.python(["clients/python/generate.py", documentFile.path, generated.path])
            #expect(generate.0 == 0, "\(generate.1)")
            for file in ["client.py", "errors.py"] {
                let committed = try String(contentsOfFile: "clients/python/engagement_client/\(file)", encoding: .utf8)
                let fresh = try String(contentsOf: generated.appendingPathComponent(file), encoding: .utf8)
                #expect(committed == fresh, "clients/python/engagement_client/\(file) is stale: run clients/python/generate.py")
            }

            // Installed by pip, then its own tests, importing the installed package.
            let target = work.appendingPathComponent("site")
            let install = try await PythonTool.python(["-m", "pip", "install", "--quiet", "--target", target.path, "clients/python"])
            #expect(install.0 == 0, "\(install.1)")
            let tracked = try await TrackedEngagement.make(client)
            let base = try await TestCluster.shared.base()
            let tests = try await PythonTool.python(
                ["-m", "unittest", "discover", "-v", "-s", "clients/python/tests", "-t", "clients/python/tests"],
                environment: [
                    "PYTHONPATH": target.path,
                    "ENGAGEMENT_TEST_HOST": "127.0.0.1", "ENGAGEMENT_TEST_PORT": String(server.port),
                    "ENGAGEMENT_TEST_CA": base.certificates.caFile.path,
                    "ENGAGEMENT_TEST_OTHER_CA": base.directory.appendingPathComponent("stranger-tls/ca.pem").path,
                    "ENGAGEMENT_TEST_KEY_A": server.orgA.apiKey, "ENGAGEMENT_TEST_KEY_B": server.orgB.apiKey,
                    "ENGAGEMENT_TEST_ENGAGEMENT_ID": tracked.id.stringValue ?? "",
                ])
            #expect(tests.0 == 0, "\(tests.1)")
            #expect(tests.1.contains("Ran 9 tests") && tests.1.contains("\nOK") && !tests.1.contains("skipped"), "\(tests.1.suffix(2000))")
        }
    }
}

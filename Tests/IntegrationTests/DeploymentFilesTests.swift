import EngagementService
import Foundation
import JSONRPC
import Testing

/// No Docker engine runs on our build machines, so the files under Docker/ are kept honest by parsing them
/// (PyYAML for the compose file): every file they name exists, every ENGAGEMENT_ variable is a setting, ports
/// and hosts agree with the configuration reference and with each other.
@Suite("Deployment files")
struct DeploymentFilesTests {
    static let knownVariables = ServerConfiguration.knownVariables

    func compose() async throws -> JSONValue {
        try await PythonTool.ensure(module: "yaml", package: "PyYAML")
        return try await PythonTool.json("yaml_to_json.py", ["Docker/compose.yaml"])
    }

    @Test("compose.yaml: the topology's services, files that exist, dependencies that exist, only known settings")
    func composeFile() async throws {
        let compose = try await compose()
        let services = try #require(compose["services"]?.objectValue)
        #expect(Set(services.keys) == [
            "postgres", "replica", "pgbouncer", "certs", "migrate", "engagementd-1", "engagementd-2", "prometheus",
        ])
        for (name, service) in services.members {
            if let build = service["build"] {
                let context = URL(fileURLWithPath: "Docker").appendingPathComponent(build["context"]?.stringValue ?? ".")
                let dockerfile = build["dockerfile"]?.stringValue.map { context.appendingPathComponent($0) }
                    ?? context.appendingPathComponent("Dockerfile")
                #expect(FileManager.default.fileExists(atPath: dockerfile.path), "\(name): \(dockerfile.path)")
            }
            for volume in service["volumes"]?.arrayValue ?? [] {
                guard let text = volume.stringValue, text.hasPrefix("./") else { continue }
                let source = "Docker/" + text.dropFirst(2).prefix { $0 != ":" }
                #expect(FileManager.default.fileExists(atPath: source), "\(name) mounts \(source)")
            }
            for dependency in service["depends_on"]?.objectValue?.keys ?? service["depends_on"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
                #expect(services[dependency] != nil, "\(name) depends on unknown \(dependency)")
            }
            for variable in service["environment"]?.objectValue?.keys ?? [] where variable.hasPrefix("ENGAGEMENT_") {
                #expect(Self.knownVariables.contains(variable), "\(name): \(variable) is no setting")
            }
        }
        // The servers: behind pgbouncer, listening directly, on the default ports of the configuration reference.
        let defaults = ServerConfiguration()
        for name in ["engagementd-1", "engagementd-2"] {
            let server = try #require(services[name])
            let environment = try #require(server["environment"]?.objectValue)
            #expect(environment["ENGAGEMENT_DATABASE_URL"]?.stringValue?.contains("@pgbouncer:6432/") == true)
            #expect(environment["ENGAGEMENT_DATABASE_LISTEN_URL"]?.stringValue?.contains("@postgres:5432/") == true)
            #expect(environment["ENGAGEMENT_DB_PREPARED_STATEMENTS"]?.stringValue == "off")
            #expect(environment["ENGAGEMENT_METRICS_PORT"]?.stringValue == String(defaults.metricsPort ?? 0))
            let ports = (server["ports"]?.arrayValue ?? []).compactMap(\.stringValue)
            #expect(!ports.isEmpty)
            #expect(ports.allSatisfy { $0.hasSuffix(":\(defaults.port)") })
        }
        // Prometheus scrapes exactly those servers on that port.
        let prometheus = try await PythonTool.json("yaml_to_json.py", ["Docker/prometheus.yml"])
        let targets = prometheus["scrape_configs"]?[0]?["static_configs"]?[0]?["targets"]?.arrayValue?.compactMap(\.stringValue)
        #expect(targets == ["engagementd-1:\(defaults.metricsPort ?? 0)", "engagementd-2:\(defaults.metricsPort ?? 0)"])
    }

    @Test("every ${VAR:?} the compose file requires is in .env.example; pgbouncer pools transactions on the port the servers use")
    func secretsAndPgbouncer() throws {
        let text = try String(contentsOfFile: "Docker/compose.yaml", encoding: .utf8)
        let required = Set(text.matches(of: #/\$\{(\w+):\?/#).map { String($0.1) })
        let example = try String(contentsOfFile: "Docker/.env.example", encoding: .utf8)
        let listed = Set(example.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { $0.split(separator: "=").first.map(String.init) })
        #expect(!required.isEmpty && required == listed, "required \(required.sorted()), listed \(listed.sorted())")
        let ini = try String(contentsOfFile: "Docker/pgbouncer/pgbouncer.ini", encoding: .utf8)
        #expect(ini.contains("pool_mode = transaction"))
        #expect(ini.contains("listen_port = 6432"))
        #expect(ini.contains("host=postgres port=5432 dbname=engagement"))
    }

    @Test("the Dockerfile copies what exists, exposes the default ports, sets only known settings, runs as a non-root user")
    func dockerfile() throws {
        let text = try String(contentsOfFile: "Docker/Dockerfile", encoding: .utf8)
        for match in text.matches(of: #/(?m)^COPY (?!--from)(\S+) /#) where String(match.1) != "Package.swift" {
            #expect(FileManager.default.fileExists(atPath: String(match.1)), "COPY \(match.1)")
        }
        let defaults = ServerConfiguration()
        #expect(text.contains("EXPOSE \(defaults.port) \(defaults.metricsPort ?? 0)"))
        for match in text.matches(of: #/(ENGAGEMENT_\w+)=/#) {
            #expect(Self.knownVariables.contains(String(match.1)), "\(match.1) is no setting")
        }
        #expect(text.contains("USER engagement"))
        #expect(text.contains("HEALTHCHECK"))
        // The binaries find their SQL at ../share/engagement-service/SQL beside /usr/local/bin.
        #expect(text.contains("/out/share/engagement-service/SQL") && text.contains("COPY --from=build /out/ /usr/local/"))
    }
}

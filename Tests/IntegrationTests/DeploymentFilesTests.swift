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

    func compose(_ file: String) async throws -> JSONValue {
        try await PythonTool.ensure(module: "yaml", package: "PyYAML")
        return try await PythonTool.json("yaml_to_json.py", [file])
    }

    /// What both compose files must satisfy: files that exist, dependencies that exist, only known settings; the
    /// servers on the default ports of the configuration reference, and Prometheus scraping exactly them.
    func checkServices(_ services: JSONObject, file: String) async throws {
        for (name, service) in services.members {
            if let build = service["build"] {
                let context = URL(fileURLWithPath: "Docker").appendingPathComponent(build["context"]?.stringValue ?? ".")
                let dockerfile = build["dockerfile"]?.stringValue.map { context.appendingPathComponent($0) }
                    ?? context.appendingPathComponent("Dockerfile")
                #expect(FileManager.default.fileExists(atPath: dockerfile.path), "\(file) \(name): \(dockerfile.path)")
            }
            for volume in service["volumes"]?.arrayValue ?? [] {
                guard let text = volume.stringValue, text.hasPrefix("./") else { continue }
                let source = "Docker/" + text.dropFirst(2).prefix { $0 != ":" }
                #expect(FileManager.default.fileExists(atPath: source), "\(file) \(name) mounts \(source)")
                if source.hasSuffix(".sh") { #expect(FileManager.default.isExecutableFile(atPath: source), "\(source) is executable") }
            }
            for dependency in service["depends_on"]?.objectValue?.keys ?? service["depends_on"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
                #expect(services[dependency] != nil, "\(file) \(name) depends on unknown \(dependency)")
            }
            for variable in service["environment"]?.objectValue?.keys ?? [] where variable.hasPrefix("ENGAGEMENT_") {
                #expect(Self.knownVariables.contains(variable), "\(file) \(name): \(variable) is no setting")
            }
        }
        let defaults = ServerConfiguration()
        for name in ["engagementd-1", "engagementd-2"] {
            let server = try #require(services[name])
            let environment = try #require(server["environment"]?.objectValue)
            #expect(environment["ENGAGEMENT_METRICS_PORT"]?.stringValue == String(defaults.metricsPort ?? 0))
            let ports = (server["ports"]?.arrayValue ?? []).compactMap(\.stringValue)
            #expect(!ports.isEmpty)
            #expect(ports.allSatisfy { $0.hasSuffix(":\(defaults.port)") })
        }
        let prometheus = try await PythonTool.json("yaml_to_json.py", ["Docker/prometheus.yml"])
        let targets = prometheus["scrape_configs"]?[0]?["static_configs"]?[0]?["targets"]?.arrayValue?.compactMap(\.stringValue)
        #expect(targets == ["engagementd-1:\(defaults.metricsPort ?? 0)", "engagementd-2:\(defaults.metricsPort ?? 0)"])
    }

    @Test("compose.yaml: the topology's services, files that exist, dependencies that exist, only known settings")
    func composeFile() async throws {
        let services = try #require(try await compose("Docker/compose.yaml")["services"]?.objectValue)
        #expect(Set(services.keys) == [
            "postgres", "replica", "pgbouncer", "certs", "migrate", "engagementd-1", "engagementd-2", "prometheus",
        ])
        try await checkServices(services, file: "compose.yaml")
        // The servers: behind pgbouncer, listening directly.
        for name in ["engagementd-1", "engagementd-2"] {
            let environment = try #require(services[name]?["environment"]?.objectValue)
            #expect(environment["ENGAGEMENT_DATABASE_URL"]?.stringValue?.contains("@pgbouncer:6432/") == true)
            #expect(environment["ENGAGEMENT_DATABASE_LISTEN_URL"]?.stringValue?.contains("@postgres:5432/") == true)
            #expect(environment["ENGAGEMENT_DB_PREPARED_STATEMENTS"]?.stringValue == "off")
        }
    }

    @Test("compose.citus.yaml: a coordinator and two workers at the addresses they trust, the jobs in order (bootstrap, cluster, distribute), the servers on the coordinator")
    func citusComposeFile() async throws {
        let compose = try await compose("Docker/compose.citus.yaml")
        let services = try #require(compose["services"]?.objectValue)
        #expect(Set(services.keys) == [
            "coordinator", "worker-1", "worker-2", "certs", "migrate", "cluster", "distribute", "engagementd-1", "engagementd-2",
            "prometheus",
        ])
        try await checkServices(services, file: "compose.citus.yaml")
        // Each node's fixed address is among those the nodes trust (citus/node-init.sh), inside the network's subnet
        // and outside the range handed to the other containers.
        let subnet = compose["networks"]?["citus"]?["ipam"]?["config"]?[0]
        #expect(subnet?["subnet"]?.stringValue == "172.28.0.0/24" && subnet?["ip_range"]?.stringValue == "172.28.0.128/25")
        var addresses: [String] = []
        for name in ["coordinator", "worker-1", "worker-2"] {
            let node = try #require(services[name])
            let trusted = node["environment"]?["CITUS_NODE_ADDRESSES"]?.stringValue?.split(separator: " ").map(String.init) ?? []
            let address = try #require(node["networks"]?["citus"]?["ipv4_address"]?.stringValue)
            addresses.append(address)
            #expect(trusted.contains(address), "\(name) at \(address) is trusted by the nodes: \(trusted)")
            #expect(address.hasPrefix("172.28.0.") && Int(address.split(separator: ".")[3])! < 128)
            #expect(node["environment"]?["CITUS_NODE_ROLE"]?.stringValue == (name == "coordinator" ? "coordinator" : "worker"))
            #expect(node["image"]?.stringValue?.contains("citusdata/citus:") == true && node["image"]?.stringValue?.hasSuffix("-pg15}") == true)
        }
        #expect(Set(addresses).count == 3)
        // bootstrap, then the extension and the workers, then the distribution, then the servers.
        #expect(services["cluster"]?["depends_on"]?["migrate"]?["condition"]?.stringValue == "service_completed_successfully")
        #expect(services["distribute"]?["depends_on"]?["cluster"]?["condition"]?.stringValue == "service_completed_successfully")
        #expect(services["distribute"]?["command"]?[0]?.stringValue == "distribute")
        #expect(services["cluster"]?["environment"]?["CITUS_WORKERS"]?.stringValue == "worker-1 worker-2")
        for name in ["engagementd-1", "engagementd-2"] {
            let server = try #require(services[name])
            #expect(server["depends_on"]?["distribute"]?["condition"]?.stringValue == "service_completed_successfully")
            #expect(server["environment"]?["ENGAGEMENT_DATABASE_URL"]?.stringValue?.contains("@coordinator:5432/engagement") == true)
        }
    }

    @Test("every ${VAR:?} the compose files require is in .env.example; pgbouncer pools transactions on the port the servers use")
    func secretsAndPgbouncer() throws {
        func required(_ file: String) throws -> Set<String> {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            return Set(text.matches(of: #/\$\{(\w+):\?/#).map { String($0.1) })
        }
        let example = try String(contentsOfFile: "Docker/.env.example", encoding: .utf8)
        let listed = Set(example.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { $0.split(separator: "=").first.map(String.init) })
        let primary = try required("Docker/compose.yaml")
        #expect(!primary.isEmpty && primary == listed, "required \(primary.sorted()), listed \(listed.sorted())")
        let citus = try required("Docker/compose.citus.yaml")
        #expect(!citus.isEmpty && citus.isSubset(of: listed), "compose.citus.yaml requires \(citus.sorted())")
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

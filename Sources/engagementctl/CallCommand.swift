import ArgumentParser
import EngagementClient
import Foundation
import JSONRPC

/// How `call` and `events` reach the server and authenticate.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Connection file of the dev mode.") var connectionFile = ".dev/connection.json"
    @Option(help: "Server host.") var host: String?
    @Option(help: "Server port.") var port: Int?
    @Option(help: "CA certificate (PEM) the server certificate must chain to.") var caFile: String?
    @Option(help: "Client certificate (PEM) for mutual TLS.") var clientCert: String?
    @Option(help: "Client private key (PEM) for mutual TLS.") var clientKey: String?
    @Option(help: "API key to authenticate with.") var apiKey: String?
    @Option(help: "Organisation (name or id) from the connection file whose key to use.") var org: String?
    @Flag(help: "Do not authenticate first.") var noAuth = false

    /// A TLS connection, authenticated unless --no-auth (or `authenticate` is false); exits 1 when refused.
    func connect(authenticate: Bool = true) async throws -> RPCConnection {
        let file = try? ConnectionFile.load(connectionFile)
        guard let host = host ?? file?.host, let port = port ?? file?.port, let caFile = caFile ?? file?.caFile else {
            throw ValidationError("no server given: pass --host, --port and --ca-file, or run `engagementd dev` first")
        }
        let connection = try await RPCConnection.connect(
            host: host, port: port, tls: ClientTLS(caFile: caFile, certificateFile: clientCert, privateKeyFile: clientKey))
        if !noAuth, authenticate {
            let key = apiKey ?? ProcessInfo.processInfo.environment["ENGAGEMENT_API_KEY"]
                ?? file?.organisations.first { org == nil || $0.name == org || $0.id == org }?.apiKey
            guard let key else { throw ValidationError("no API key: pass --api-key or --org, or use --no-auth") }
            let reply = try await connection.call("session.authenticate", .object(["api_key": .string(key)]))
            if reply["error"] != nil {
                print(JSONWriter.string(reply))
                throw ExitCode(1)
            }
        }
        return connection
    }
}

struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call a method over TLS (verifying the server against a CA) and print the reply.",
        discussion: """
            Connection details default to .dev/connection.json. Unless --no-auth is given, the session first
            authenticates with --api-key, $ENGAGEMENT_API_KEY, or the key of --org (a name or id in the
            connection file; default: its first organisation). PARAMS is a JSON object or array.
            Exit status: 0 for a result, 1 for an error reply.
            """)

    @Argument(help: "Method name, e.g. session.whoami.") var method: String
    @Argument(help: "Params as JSON (object or array).") var params: String?
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let parsedParams: JSONValue?
        if let params {
            do { parsedParams = try JSONParser.parse(params) } catch {
                throw ValidationError("PARAMS is not valid JSON: \(error)")
            }
        } else {
            parsedParams = nil
        }
        let client = try await connection.connect(authenticate: method != "session.authenticate")
        defer { Task { await client.close() } }
        let reply = try await client.call(method, parsedParams)
        print(JSONWriter.string(reply["result"] ?? reply))
        if reply["error"] != nil { throw ExitCode(1) }
    }
}

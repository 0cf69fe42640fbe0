import Foundation
import JSONRPC

/// The dev mode's `.dev/connection.json`.
struct ConnectionFile {
    let host: String
    let port: Int
    let caFile: String
    let databaseURL: String?
    let organisations: [(id: String, name: String, apiKey: String)]

    static func load(_ path: String) throws -> ConnectionFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConnectionFileError.missing(path)
        }
        let document = try JSONParser.parse(Array(data))
        guard let host = document["host"]?.stringValue, let port = document["port"]?.intValue,
            let caFile = document["ca_file"]?.stringValue
        else { throw ConnectionFileError.malformed(path) }
        let organisations = (document["organisations"]?.arrayValue ?? []).compactMap { entry -> (String, String, String)? in
            guard let id = entry["id"]?.stringValue, let name = entry["name"]?.stringValue,
                let key = entry["api_key"]?.stringValue
            else { return nil }
            return (id, name, key)
        }
        return ConnectionFile(
            host: host, port: port, caFile: caFile, databaseURL: document["database_url"]?.stringValue,
            organisations: organisations.map { (id: $0.0, name: $0.1, apiKey: $0.2) })
    }
}

enum ConnectionFileError: Error, CustomStringConvertible {
    case missing(String)
    case malformed(String)
    var description: String {
        switch self {
        case .missing(let path): "\(path) not found (start `swift run engagementd dev`, or pass --host/--port/--ca-file)"
        case .malformed(let path): "\(path) is not a valid connection file"
        }
    }
}

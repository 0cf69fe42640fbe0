import JSONRPC

/// Renders the registry as an OpenRPC 1.3 document (https://spec.open-rpc.org): generated, never written
/// by hand, so it lists exactly what the server dispatches.
public enum OpenRPCDocument {
    static let version = "0.1.0"

    public static func render(_ registry: MethodRegistry) -> JSONValue {
        let methods: [JSONValue] = registry.definitions.map { method in
            var object: JSONObject = [
                "name": .string(method.name),
                "summary": .string(method.summary),
                "paramStructure": "either",
                "params": .array(method.params.map { field in
                    .object([
                        "name": .string(field.name), "summary": .string(field.summary),
                        "required": .bool(field.required), "schema": field.schema.jsonSchema,
                    ])
                }),
                "result": .object(["name": "result", "schema": method.result.jsonSchema]),
            ]
            switch method.access {
            case .anonymous: object["x-authentication"] = "none"
            case .role(let role):
                object["x-authentication"] = "required"
                object["x-minimum-role"] = .string(role.rawValue)
            }
            return .object(object)
        }
        let errors: [JSONValue] = RPCErrorCode.allCases.map {
            .object(["code": .number(String($0.rawValue)), "message": .string($0.defaultMessage)])
        }
        return .object([
            "openrpc": "1.3.2",
            "info": .object([
                "title": "engagement-service",
                "version": .string(version),
                "description": "JSON-RPC 2.0 over TLS, one message per line. See docs/protocol.md.",
            ]),
            "methods": .array(methods),
            "components": .object(["x-error-codes": .array(errors)]),
        ])
    }
}

// Coverage-guided fuzzing (libFuzzer) of everything the server does with a line before any database work: JSON
// parsing, the JSON-RPC envelope, params against schemas, and the writer. Compiled together with
// Sources/JSONRPC by Fuzz/run.sh; libFuzzer supplies `main`. A broken property stops the run with the input.

/// Builds the global schemas before the first input, so that their one-time allocation is not taken for a
/// leak of that input.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    precondition(!schemas.isEmpty)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let line = Array(UnsafeBufferPointer(start: data, count: size))
    checkJSONRoundTrip(line)
    switch IncomingMessage.decode(line: line) {
    case .single(let entry): checkEntry(entry)
    case .batch(let entries): entries.forEach(checkEntry)
    case .rejected(let error): checkError(error)
    }
    return 0
}

/// Whatever parses is written back as one line that parses to the same value.
func checkJSONRoundTrip(_ line: [UInt8]) {
    guard let value = try? JSONParser.parse(line) else { return }
    let written = JSONWriter.encode(value)
    precondition(!written.contains(0x0A) && !written.contains(0x0D), "the writer produced a line break")
    guard let again = try? JSONParser.parse(written) else { preconditionFailure("the writer produced unparsable JSON") }
    precondition(again == value, "a value changed on its way through the writer")
}

/// Every error is a well-formed error object the protocol allows.
func checkError(_ error: RPCError) {
    let json = error.json
    guard case .object(let object) = json, object["code"] != nil, object["message"] != nil,
          case .object(let data)? = object["data"], data["reason"] != nil else {
        preconditionFailure("an error without code, message or data.reason")
    }
    checkJSONRoundTrip(JSONWriter.encode(json))
}

func checkEntry(_ entry: RequestEntry) {
    switch entry {
    case .invalid(_, let error):
        precondition(error.code == .invalidRequest, "an invalid entry with code \(error.code)")
        checkError(error)
    case .request(let request):
        for fields in schemas {
            do {
                let params = try ParamReader(request.params, fields: fields)
                for field in fields where field.required {
                    precondition(params.value(field.name) != nil, "a required param accepted while missing")
                }
            } catch {
                precondition(error.code == .invalidParams, "params refused with \(error.code)")
                precondition(!error.fields.isEmpty, "invalid params without a path")
                checkError(error)
            }
        }
    }
}

/// Shapes the methods declare: required and optional fields, nested objects and arrays, enumerations,
/// patterns, ranges, nullable values and dictionaries.
let schemas: [[Schema.Field]] = [
    [.init("api_key", .string(minLength: 1, maxLength: 200), "a key")],
    [
        .init("id", .uuid, "an id"), .init("version", .integer(minimum: 1), "a version"),
        .init("title", .string(minLength: 1, maxLength: 300), required: false, "a title"),
        .init("due_date", .nullable(.string(minLength: 10, maxLength: 10, format: "date", pattern: "[0-9]{4}-[0-9]{2}-[0-9]{2}")),
              required: false, "a date"),
        .init("stage", .enumeration(["planned", "in_progress", "done"]), required: false, "a stage"),
        .init("value", .numberInRange(minimum: 0, maximum: nil), required: false, "a value"),
    ],
    [
        .init("items", .array(items: .object([
            .init("kpi", .string(minLength: 1, maxLength: 100), "a name"), .init("actual", .number, "a value"),
            .init("tags", .dictionary(values: .integer(minimum: 0)), required: false, "counts"),
        ]), maxItems: 20), "items"),
        .init("flag", .boolean, required: false, "a flag"), .init("any", .any(description: "anything"), required: false, "anything"),
    ],
]

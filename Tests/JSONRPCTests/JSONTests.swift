@testable import JSONRPC
import Testing

@Suite("JSON parser and writer")
struct JSONTests {
    @Test("numbers keep their lexeme", arguments: ["0", "-0", "1.50", "1e3", "-2.5E-7", "12345678901234567890"])
    func numberLexemes(_ lexeme: String) throws {
        #expect(try JSONParser.parse(lexeme) == .number(lexeme))
        #expect(JSONWriter.string(try JSONParser.parse("[\(lexeme)]")) == "[\(lexeme)]")
    }

    @Test("invalid documents are refused", arguments: [
        "", "01", "1.", ".5", "+1", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "'x'", "\"\\x\"", "\"\u{01}\"", "[1] 2",
        "{\"a\":1,\"a\":2}", "\"\\ud800\"", "nul", "[", "\"abc", "{1:2}", "NaN", "//c\n1",
    ])
    func invalid(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test("nesting is bounded")
    func depth() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSONParser.parse(ok) }
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
    }

    @Test("strings: escapes, surrogate pairs and raw UTF-8")
    func strings() throws {
        #expect(try JSONParser.parse(#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00é""#) == .string("a\"\\/\u{08}\u{0C}\n\r\té😀é"))
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
        // Runs of raw text between escapes, at the start, at the end and alone, keep their order.
        #expect(try JSONParser.parse(#""\nabc""#) == .string("\nabc") && JSONParser.parse(#""abc\n""#) == .string("abc\n"))
        #expect(try JSONParser.parse(#""ab\tcd\u00e9ef""#) == .string("ab\tcdéef") && JSONParser.parse(#""plain""#) == .string("plain"))
        #expect(try JSONParser.parse(#""e\u0301""#) == .string("e\u{0301}") && JSONParser.parse("\"\"") == .string(""))
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0x61, 0x5C, 0x6E, 0xC3, 0x28, 0x22]) }  // bad UTF-8 after an escape
    }

    @Test("duplicate member names are refused in small objects and large ones", arguments: [2, 15, 16, 17, 40])
    func duplicateNames(_ count: Int) throws {
        let names = (0..<count).map { "\"k\($0)\":\($0)" }
        #expect(throws: Never.self) { try JSONParser.parse("{" + names.joined(separator: ",") + "}") }
        for duplicate in [0, count - 1] {
            let text = "{" + (names + ["\"k\(duplicate)\":true"]).joined(separator: ",") + "}"
            #expect(throws: JSONParseError.self, "k\(duplicate) again after \(count) members") { try JSONParser.parse(text) }
        }
    }

    @Test("the writer escapes control characters, so output is always one line")
    func writer() throws {
        let value: JSONValue = ["text": "line1\nline2\r\u{01}\"\\", "list": [1, true, nil], "empty": [:]]
        let text = JSONWriter.string(value)
        #expect(!text.contains("\n") && !text.contains("\r"))
        #expect(try JSONParser.parse(text) == value)
        #expect(text == #"{"text":"line1\nline2\r\u0001\"\\","list":[1,true,null],"empty":{}}"#)
    }
}

@Suite("JSON-RPC envelope")
struct EnvelopeTests {
    func entry(_ text: String) -> RequestEntry? {
        if case .single(let entry) = IncomingMessage.decode(line: Array(text.utf8)) { return entry }
        return nil
    }

    @Test("no id is a notification; id null is a call")
    func notificationVersusNullID() {
        #expect(entry(#"{"jsonrpc":"2.0","method":"m"}"#) == .request(Request(id: nil, method: "m")))
        #expect(entry(#"{"jsonrpc":"2.0","method":"m","id":null}"#) == .request(Request(id: .null, method: "m")))
    }

    @Test("params by name and by position")
    func params() {
        #expect(entry(#"{"jsonrpc":"2.0","method":"m","params":{"a":1},"id":1}"#)
            == .request(Request(id: .number("1"), method: "m", params: .byName(["a": 1]))))
        #expect(entry(#"{"jsonrpc":"2.0","method":"m","params":[1,"x"],"id":"q"}"#)
            == .request(Request(id: .string("q"), method: "m", params: .byPosition([1, "x"]))))
    }

    @Test("invalid request objects keep a readable id")
    func invalidKeepsID() {
        guard case .invalid(let id, let error) = entry(#"{"jsonrpc":"2.0","method":7,"id":"x"}"#) else {
            Issue.record("expected invalid")
            return
        }
        #expect(id == .string("x"))
        #expect(error.code == .invalidRequest)
    }

    @Test("empty batch is rejected as a whole; other batches decode member by member")
    func batches() {
        guard case .rejected(let error) = IncomingMessage.decode(line: Array("[]".utf8)) else {
            Issue.record("expected a rejection")
            return
        }
        #expect(error.code == .invalidRequest)
        guard case .batch(let entries) = IncomingMessage.decode(line: Array(#"[1,{"jsonrpc":"2.0","method":"m"}]"#.utf8)) else {
            Issue.record("expected a batch")
            return
        }
        #expect(entries.count == 2)
    }

    @Test("responses: result passes raw JSON through, errors have the stable data shape")
    func responses() throws {
        let ok = Response(id: .number("1.50"), body: .result(rawJSON: Array(#"{"x":[1]}"#.utf8)))
        #expect(String(decoding: ok.line, as: UTF8.self) == "{\"jsonrpc\":\"2.0\",\"result\":{\"x\":[1]},\"id\":1.50}\n")
        let error = RPCError.invalidParams([FieldProblem(path: "params.a", message: "is required")])
        let line = Response(id: .null, body: .error(error)).line
        let parsed = try JSONParser.parse(Array(line.dropLast()))
        #expect(parsed["error"]?["code"] == .number("-32602"))
        #expect(parsed["error"]?["data"]?["reason"] == "invalid_params")
        #expect(parsed["error"]?["data"]?["fields"]?.arrayValue?.first?["path"] == "params.a")
    }

    @Test("params schemas report every problem with its path")
    func paramReader() {
        let fields: [Schema.Field] = [
            .init("name", .string(minLength: 1, maxLength: 5), "n"),
            .init("count", .integer(minimum: 1), required: false, "c"),
            .init("id", .uuid, required: false, "i"),
        ]
        #expect(throws: Never.self) { try ParamReader(.byPosition(["abc", 3]), fields: fields) }
        do {
            _ = try ParamReader(.byName(["name": "toolong", "count": 0, "id": "nope", "x": true]), fields: fields)
            Issue.record("must fail")
        } catch {
            #expect(error.code == .invalidParams)
            #expect(Set(error.fields.map(\.path)) == ["params.name", "params.count", "params.id", "params.x"])
        }
        #expect(throws: RPCError.self) { try ParamReader(.byPosition(["a", 1, "b", "c"]), fields: fields) }
        #expect(throws: RPCError.self) { try ParamReader(.none, fields: fields) }
    }

    @Test("a NUL character anywhere in the params is refused with its path, nested ones and member names included")
    func nulCharacters() {
        let fields: [Schema.Field] = [
            .init("name", .string(maxLength: 100), "n"),
            .init("items", .array(items: .object([.init("title", .string(), "t")])), required: false, "i"),
            .init("free", .any(description: "anything"), required: false, "f"),
        ]
        #expect(throws: Never.self) { try ParamReader(.byName(["name": "plain"]), fields: fields) }
        for (params, path) in [
            (["name": "nul-probe\u{0} hidden tail"] as JSONObject, "params.name"),
            (["name": "\u{0}abc"], "params.name"),
            (["name": "ok", "items": [["title": "fine"], ["title": "bad\u{0}"]]], "params.items[1].title"),
            (["name": "ok", "free": ["deep": ["x\u{0}"]]], "params.free.deep[0]"),
            (["name": "ok", "free": ["k\u{0}": 1]], "params.free"),
        ] {
            do {
                _ = try ParamReader(.byName(params), fields: fields)
                Issue.record("\(path) must fail")
            } catch {
                #expect(error.code == .invalidParams && error.fields.map(\.path) == [path], "\(error.fields)")
            }
        }
    }
}

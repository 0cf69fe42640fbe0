/// CSV as spreadsheets write it (RFC 4180): fields separated by commas, records by CRLF or LF, a field in double
/// quotes may hold commas, quotes (doubled) and line breaks; UTF-8 with or without a byte-order mark. The first
/// record is the header. No dependency, no Foundation: bytes in, strings out.
public struct CSVTable: Sendable, Equatable {
    public var header: [String]
    /// The records after the header, each as long as the header.
    public var rows: [[String]]
    /// The line each row starts on in the file (1 is the header), for reports that point back at the file.
    public var lines: [Int]

    public init(header: [String], rows: [[String]], lines: [Int]? = nil) {
        self.header = header
        self.rows = rows
        self.lines = lines ?? rows.indices.map { $0 + 2 }
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case empty
        case notUTF8
        case unterminatedQuote(line: Int)
        case quoteInUnquotedField(line: Int)
        case fieldCount(line: Int, expected: Int, found: Int)
        case duplicateColumn(String)

        public var description: String {
            switch self {
            case .empty: "the file is empty: the first line must name the columns"
            case .notUTF8: "the file is not UTF-8"
            case .unterminatedQuote(let line): "line \(line): a quoted field is never closed"
            case .quoteInUnquotedField(let line): "line \(line): a double quote inside an unquoted field (quote the field, double the quote)"
            case .fieldCount(let line, let expected, let found): "line \(line): \(found) fields, the header has \(expected)"
            case .duplicateColumn(let name): "the column \(name) appears twice in the header"
            }
        }
    }

    /// Parses a whole file. Blank lines (no field at all) are skipped.
    public static func parse(_ bytes: [UInt8]) throws(Failure) -> CSVTable {
        var input = bytes[...]
        if input.starts(with: [0xEF, 0xBB, 0xBF]) { input = input.dropFirst(3) }
        guard String(validating: input, as: UTF8.self) != nil else { throw .notUTF8 }
        var records: [(line: Int, fields: [String])] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var quoted = false, inQuotes = false, fieldStarted = false
        var line = 1, recordLine = 1
        var index = input.startIndex
        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            quoted = false
            fieldStarted = false
        }
        func endRecord() {
            if !(fields.isEmpty && !fieldStarted && field.isEmpty) { endField() }
            if !(fields.count == 1 && fields[0].isEmpty) && !fields.isEmpty { records.append((recordLine, fields)) }
            fields.removeAll()
        }
        while index < input.endIndex {
            let byte = input[index]
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    let next = input.index(after: index)
                    if next < input.endIndex, input[next] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index = input.index(after: next)
                        continue
                    }
                    inQuotes = false
                } else {
                    if byte == 0x0A { line += 1 }
                    field.append(byte)
                }
            } else {
                switch byte {
                case UInt8(ascii: ","):
                    endField()
                    fieldStarted = true
                case 0x0D:
                    break  // CR of CRLF (a lone CR is dropped too)
                case 0x0A:
                    endRecord()
                    line += 1
                    recordLine = line
                case UInt8(ascii: "\""):
                    guard field.isEmpty, !quoted else { throw .quoteInUnquotedField(line: line) }
                    quoted = true
                    inQuotes = true
                    fieldStarted = true
                default:
                    if quoted { throw .quoteInUnquotedField(line: line) }
                    field.append(byte)
                    fieldStarted = true
                }
            }
            index = input.index(after: index)
        }
        if inQuotes { throw .unterminatedQuote(line: recordLine) }
        endRecord()
        guard let header = records.first else { throw .empty }
        let names = header.fields.map { $0.trimmingSpaces }
        var seen = Set<String>()
        for name in names where !seen.insert(name).inserted { throw .duplicateColumn(name) }
        var rows: [[String]] = []
        var lines: [Int] = []
        for record in records.dropFirst() {
            guard record.fields.count == names.count else {
                throw .fieldCount(line: record.line, expected: names.count, found: record.fields.count)
            }
            rows.append(record.fields)
            lines.append(record.line)
        }
        return CSVTable(header: names, rows: rows, lines: lines)
    }

    /// The table as CSV: LF line ends, a field quoted when it holds a comma, quote, CR or LF, or starts or ends
    /// with a space.
    public func rendered() -> String {
        ([header] + rows).map { $0.map(Self.quotedIfNeeded).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    static func quotedIfNeeded(_ field: String) -> String {
        let needs = field.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" } || field.first == " " || field.last == " "
        return needs ? "\"" + field.replacingAll("\"", with: "\"\"") + "\"" : field
    }
}

extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while scalars.first == " " || scalars.first == "\t" { scalars = scalars.dropFirst() }
        while scalars.last == " " || scalars.last == "\t" { scalars = scalars.dropLast() }
        return String(scalars)
    }

    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self { if character == target { out += replacement } else { out.append(character) } }
        return out
    }
}

import Spreadsheet
import Testing

/// CSV as spreadsheets (Excel, Google Sheets, Airtable's export) write it.
@Suite("CSV")
struct CSVTests {
    func parse(_ text: String) throws -> CSVTable { try CSVTable.parse(Array(text.utf8)) }

    @Test("quoted fields hold commas, doubled quotes and line breaks; CRLF and LF; a BOM is ignored; lines are counted")
    func quoting() throws {
        let text = "\u{FEFF}name,kind,external_ref\r\n\"Acme, Inc.\",customer,A-1\r\n\"Say \"\"hi\"\"\",customer,\r\n\"Two\nlines\",delivery_partner,B-2\n"
        let table = try parse(text)
        #expect(table.header == ["name", "kind", "external_ref"])
        #expect(table.rows == [["Acme, Inc.", "customer", "A-1"], ["Say \"hi\"", "customer", ""], ["Two\nlines", "delivery_partner", "B-2"]])
        #expect(table.lines == [2, 3, 4])
    }

    @Test("blank lines are skipped, a last line without a line break counts, header names are trimmed, UTF-8 stays")
    func shapes() throws {
        let table = try parse("name , kind\n\nZoë ☃,customer\n\nLast,customer")
        #expect(table.header == ["name", "kind"])
        #expect(table.rows == [["Zoë ☃", "customer"], ["Last", "customer"]])
        #expect(table.lines == [3, 5])
    }

    @Test("malformed files name the line: field count, unterminated quote, stray quote, duplicate column, not UTF-8, empty")
    func failures() {
        #expect(throws: CSVTable.Failure.fieldCount(line: 3, expected: 2, found: 3)) { try parse("a,b\n1,2\n1,2,3\n") }
        #expect(throws: CSVTable.Failure.unterminatedQuote(line: 2)) { try parse("a,b\n\"open,2\n") }
        #expect(throws: CSVTable.Failure.quoteInUnquotedField(line: 2)) { try parse("a,b\nx\"y,2\n") }
        #expect(throws: CSVTable.Failure.duplicateColumn("a")) { try parse("a,a\n1,2\n") }
        #expect(throws: CSVTable.Failure.notUTF8) { try CSVTable.parse([0x61, 0x0A, 0xFF, 0xFE]) }
        #expect(throws: CSVTable.Failure.empty) { try parse("\n\n") }
    }

    @Test("rendering quotes what needs it, and parses back to the same table")
    func roundTrip() throws {
        let table = CSVTable(header: ["name", "note"], rows: [["Acme, Inc.", "said \"yes\""], ["Plain", "two\nlines"], [" padded", ""]])
        let text = table.rendered()
        #expect(text.hasPrefix("name,note\n\"Acme, Inc.\",\"said \"\"yes\"\"\"\n"))
        let parsed = try parse(text)
        #expect(parsed.header == table.header && parsed.rows == table.rows)
        #expect(parsed.lines == [2, 3, 5], "the quoted line break moves the next row's line")
    }
}

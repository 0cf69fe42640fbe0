import CLibPQ
import Foundation

/// The rows of one executed statement. Wraps a `PGresult`, which is immutable once libpq hands it over,
/// so reading it from any thread is safe; it is freed when the last reference goes away.
public final class PostgresResult: @unchecked Sendable {
    private let handle: OpaquePointer

    init(taking handle: OpaquePointer) { self.handle = handle }
    deinit { PQclear(handle) }

    public var rowCount: Int { Int(PQntuples(handle)) }
    public var columnCount: Int { Int(PQnfields(handle)) }
    /// The number of rows an INSERT, UPDATE or DELETE affected (0 when not applicable).
    public var affectedRows: Int { Int(String(cString: PQcmdTuples(handle))) ?? 0 }

    public func columnName(_ column: Int) -> String { String(cString: PQfname(handle, Int32(column))) }

    public func columnIndex(_ name: String) -> Int? {
        let index = PQfnumber(handle, name)
        return index < 0 ? nil : Int(index)
    }

    public func isNull(_ row: Int, _ column: Int) -> Bool { PQgetisnull(handle, Int32(row), Int32(column)) == 1 }

    /// The raw text-format bytes of a value, or nil for NULL.
    public func bytes(_ row: Int, _ column: Int) -> [UInt8]? {
        guard checkBounds(row, column), !isNull(row, column) else { return nil }
        let length = Int(PQgetlength(handle, Int32(row), Int32(column)))
        guard let pointer = PQgetvalue(handle, Int32(row), Int32(column)) else { return nil }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
            Array(UnsafeBufferPointer(start: $0, count: length))
        }
    }

    public func string(_ row: Int, _ column: Int) -> String? {
        guard checkBounds(row, column), !isNull(row, column) else { return nil }
        return String(cString: PQgetvalue(handle, Int32(row), Int32(column)))
    }

    public func int(_ row: Int, _ column: Int) -> Int? { string(row, column).flatMap { Int($0) } }
    public func bool(_ row: Int, _ column: Int) -> Bool? { string(row, column).map { $0 == "t" } }
    public func uuid(_ row: Int, _ column: Int) -> UUID? { string(row, column).flatMap { UUID(uuidString: $0) } }

    /// Decodes a `bytea` value from PostgreSQL's hex output format.
    public func bytea(_ row: Int, _ column: Int) -> [UInt8]? {
        guard let text = bytes(row, column), text.count >= 2, text[0] == UInt8(ascii: "\\"),
            text[1] == UInt8(ascii: "x"), text.count % 2 == 0
        else { return nil }
        var out = [UInt8]()
        out.reserveCapacity((text.count - 2) / 2)
        var index = 2
        while index < text.count {
            guard let high = hexValue(text[index]), let low = hexValue(text[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private func checkBounds(_ row: Int, _ column: Int) -> Bool {
        row >= 0 && row < rowCount && column >= 0 && column < columnCount
    }
}

private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
    default: nil
    }
}

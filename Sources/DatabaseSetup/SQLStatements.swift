/// A SQL script cut into its statements, for running them one at a time.
///
/// Why: on a Citus coordinator, DDL that Citus forwards to the shards with the text the client sent (`CREATE
/// TRIGGER` on a distributed table, for one) fails when that text holds more than one statement ("cannot insert
/// multiple commands into a prepared statement"), and a definitions file binds its triggers as `DROP TRIGGER IF
/// EXISTS …; CREATE TRIGGER …`. Cuts at each `;` outside string literals (`'…'`, `E'…'` with backslash escapes),
/// quoted identifiers, dollar-quoted bodies (`$$…$$`, `$tag$…$tag$`), comments (`--`, nested `/* */`) and
/// `BEGIN ATOMIC … END` bodies; a piece holding nothing but comments and space is dropped.
public enum SQLStatements {
    public static func split(_ script: String) -> [String] {
        let text = Array(script.utf8)
        var statements: [String] = []
        var start = 0
        var index = 0
        var meaningful = false  // the current piece has something besides comments and space
        var atomicDepth = 0  // inside BEGIN ATOMIC … END

        func isIdentifier(_ byte: UInt8) -> Bool {
            (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x5F
                || byte >= 0x80
        }
        func word(at position: Int) -> String? {
            guard position < text.count, isIdentifier(text[position]), position == 0 || !isIdentifier(text[position - 1]) else { return nil }
            var end = position
            while end < text.count, isIdentifier(text[end]) { end += 1 }
            return String(decoding: text[position..<end], as: UTF8.self).uppercased()
        }
        /// Skips a quoted run opened at `index` by `quote`; a doubled quote stays inside; with `backslashes` a
        /// backslash escapes the next byte.
        func skipQuoted(_ quote: UInt8, backslashes: Bool) {
            index += 1
            while index < text.count {
                if backslashes, text[index] == 0x5C {
                    index += 2
                    continue
                }
                if text[index] == quote {
                    if index + 1 < text.count, text[index + 1] == quote {
                        index += 2
                        continue
                    }
                    index += 1
                    return
                }
                index += 1
            }
        }

        while index < text.count {
            let byte = text[index]
            switch byte {
            case 0x2D where index + 1 < text.count && text[index + 1] == 0x2D:  // -- comment
                while index < text.count, text[index] != 0x0A { index += 1 }
            case 0x2F where index + 1 < text.count && text[index + 1] == 0x2A:  // /* comment */, nested
                var depth = 0
                repeat {
                    if index + 1 < text.count, text[index] == 0x2F, text[index + 1] == 0x2A {
                        depth += 1
                        index += 2
                    } else if index + 1 < text.count, text[index] == 0x2A, text[index + 1] == 0x2F {
                        depth -= 1
                        index += 2
                    } else {
                        index += 1
                    }
                } while depth > 0 && index < text.count
            case 0x27:  // 'string', E'string'
                let escaped = index > 0 && (text[index - 1] == 0x45 || text[index - 1] == 0x65)
                    && (index == 1 || !isIdentifier(text[index - 2]))
                meaningful = true
                skipQuoted(0x27, backslashes: escaped)
            case 0x22:  // "identifier"
                meaningful = true
                skipQuoted(0x22, backslashes: false)
            case 0x24:  // $tag$ … $tag$ (not $1)
                var end = index + 1
                while end < text.count, isIdentifier(text[end]), !(end == index + 1 && text[end] >= 0x30 && text[end] <= 0x39) {
                    end += 1
                }
                meaningful = true
                if end < text.count, text[end] == 0x24, index == 0 || !isIdentifier(text[index - 1]) {
                    let tag = Array(text[index...end])
                    index = end + 1
                    while index < text.count, !(text[index] == 0x24 && text[index...].starts(with: tag)) { index += 1 }
                    index = min(text.count, index + tag.count)
                } else {
                    index += 1
                }
            case 0x3B where atomicDepth == 0:  // ;
                let piece = String(decoding: text[start..<index], as: UTF8.self)
                if meaningful { statements.append(piece.trimmingWhitespace) }
                index += 1
                start = index
                meaningful = false
            default:
                if let keyword = word(at: index) {
                    meaningful = true
                    if keyword == "ATOMIC", let previous = previousWord(before: index, in: text), previous == "BEGIN" {
                        atomicDepth += 1
                    } else if atomicDepth > 0, keyword == "BEGIN" || keyword == "CASE" {
                        atomicDepth += 1
                    } else if atomicDepth > 0, keyword == "END" {
                        atomicDepth -= 1
                    }
                    index += keyword.utf8.count
                } else {
                    if !(byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D) { meaningful = true }
                    index += 1
                }
            }
        }
        let rest = String(decoding: text[start...], as: UTF8.self)
        if meaningful { statements.append(rest.trimmingWhitespace) }
        return statements
    }

    /// The word just before `position`, skipping space (for `BEGIN ATOMIC`).
    private static func previousWord(before position: Int, in text: [UInt8]) -> String? {
        var end = position
        while end > 0, [0x20, 0x09, 0x0A, 0x0D].contains(text[end - 1]) { end -= 1 }
        var begin = end
        while begin > 0, (text[begin - 1] | 0x20) >= 0x61, (text[begin - 1] | 0x20) <= 0x7A { begin -= 1 }
        return begin < end ? String(decoding: text[begin..<end], as: UTF8.self).uppercased() : nil
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view = view.dropFirst() }
        while let last = view.last, last.isWhitespace { view = view.dropLast() }
        return String(view)
    }
}

import DatabaseSetup
import Foundation
import Testing

@Suite("SQL scripts cut into statements")
struct SQLStatementsTests {
    @Test("a semicolon ends a statement only outside strings, identifiers, dollar quotes, comments and BEGIN ATOMIC bodies")
    func cutsWhereTheServerWould() {
        let script = #"""
            -- a comment; not a statement
            CREATE TABLE "odd;name" (a text DEFAULT 'x;y', b text DEFAULT E'it\'s;');
            /* block; /* nested; */ still comment; */
            CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;
            CREATE FUNCTION g() RETURNS text LANGUAGE sql AS $body$ SELECT 'a;b' $body$;
            PREPARE p AS SELECT $1::int; DROP TRIGGER IF EXISTS t ON x; CREATE TRIGGER t BEFORE DELETE ON x FOR EACH ROW EXECUTE FUNCTION h('a;b')
            ;CREATE FUNCTION k(n int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN n > 0 THEN 1 ELSE 0 END; SELECT 2; END;
            SELECT 'it''s; fine';
            -- trailing comment only
            """#
        let statements = SQLStatements.split(script)
        #expect(statements == [
            "-- a comment; not a statement\n" + #"CREATE TABLE "odd;name" (a text DEFAULT 'x;y', b text DEFAULT E'it\'s;')"#,
            "/* block; /* nested; */ still comment; */\nCREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$",
            "CREATE FUNCTION g() RETURNS text LANGUAGE sql AS $body$ SELECT 'a;b' $body$",
            "PREPARE p AS SELECT $1::int",
            "DROP TRIGGER IF EXISTS t ON x",
            "CREATE TRIGGER t BEFORE DELETE ON x FOR EACH ROW EXECUTE FUNCTION h('a;b')",
            "CREATE FUNCTION k(n int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN n > 0 THEN 1 ELSE 0 END; SELECT 2; END",
            "SELECT 'it''s; fine'",
        ], "\(statements)")
        #expect(SQLStatements.split("-- nothing\n  /* at all */ ;; ") == [])
    }

    @Test("every file of SQL/ cuts into statements that each start with a command word, and cutting again changes nothing")
    func schemaFiles() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("SQL")
        let schema = try SchemaSource.load(from: directory)
        let commands: Set<String> = ["CREATE", "DROP", "ALTER", "REVOKE", "GRANT", "CALL", "COMMENT", "SELECT", "INSERT",
                                     "UPDATE", "DELETE", "DO", "SET", "WITH", "TRUNCATE", "ANALYZE"]
        var total = 0
        for (name, sql) in schema.migrations.map({ ($0.name, $0.sql) }) + schema.definitions.map({ ($0.name, $0.sql) }) {
            let statements = SQLStatements.split(sql)
            #expect(!statements.isEmpty, "\(name)")
            for statement in statements {
                // Leading comments belong to the statement after them.
                let code = statement.split(separator: "\n").drop { $0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }
                    .joined(separator: "\n")
                let first = code.prefix { $0.isLetter }.uppercased()
                #expect(commands.contains(first), "\(name): \(statement.prefix(120))")
            }
            #expect(SQLStatements.split(statements.joined(separator: ";\n")) == statements, "\(name)")
            total += statements.count
        }
        #expect(total > 1_500)
    }
}

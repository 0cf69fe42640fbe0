import EngagementClient
import Foundation
import JSONRPC
import PostgresClient
import Testing

/// Events pushed over the connection: delivery after commit in order, filters, replay from a cursor, isolation
/// between organisations writing at once, and the refusals (forged or foreign cursors, the per-connection cap).
@Suite("Pushed events")
struct EventTests {
    /// events.event notifications, per subscription in arrival order, until `done` says enough.
    func collect(_ client: RPCConnection, until done: ([String: [JSONValue]]) -> Bool) async throws -> [String: [JSONValue]] {
        var received: [String: [JSONValue]] = [:]
        while !done(received) {
            let message = try #require(try await client.nextNotification(timeout: .seconds(10)))
            if message["method"] == "events.event", let id = message["params"]?["subscription"]?.stringValue {
                received[id, default: []].append(try #require(message["params"]))
            }
        }
        return received
    }

    func events(_ client: RPCConnection, _ count: Int, of subscription: JSONValue) async throws -> [JSONValue] {
        let id = subscription.stringValue ?? ""
        return try await collect(client) { ($0[id]?.count ?? 0) >= count }[id] ?? []
    }

    @Test("subscribers get their organisation's entries after commit, in order, filtered; replay from a cursor")
    func delivery() async throws {
        let server = try await ServerFixture.start("events")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(a)
            let other = try await TrackedEngagement.make(a, code: "T2")
            let listener = try await server.session(server.orgA)
            // Org-wide notes (entries committed just before subscribing may come too: delivery starts at a cursor
            // that never passes an entry still to commit, see docs/protocol.md).
            let all = try #require(try await listener.call("events.subscribe", ["types": ["note"]])["result"])
            let notesOfOne = try #require(try await listener.call("events.subscribe", ["engagement_id": tracked.id])["result"])
            for n in 1...3 {
                _ = try #require(try await a.call("timeline.note", ["engagement_id": tracked.id, "title": .string("Note \(n)")])["result"])
                _ = try #require(try await a.call("timeline.note", ["engagement_id": other.id, "title": .string("Other \(n)")])["result"])
            }
            let allID = all["subscription"]!.stringValue!, oneID = notesOfOne["subscription"]!.stringValue!
            let both = try await collect(listener) { received in
                (received[allID]?.count ?? 0) >= 6 && (received[oneID] ?? []).filter { $0["event"]?["type"] == "note" }.count >= 3
            }
            let everything = both[allID] ?? []
            #expect(everything.map { $0["event"]?["title"] } == ["Note 1", "Other 1", "Note 2", "Other 2", "Note 3", "Other 3"])
            let cursors = everything.compactMap { $0["cursor"]?.stringValue.flatMap(Int.init) }
            #expect(cursors == cursors.sorted() && Set(cursors).count == 6, "increasing cursors")
            // One engagement's entries: its own three notes, whatever else of it came first.
            let filtered = both[oneID] ?? []
            #expect(filtered.filter { $0["event"]?["type"] == "note" }.map { $0["event"]?["title"] } == ["Note 1", "Note 2", "Note 3"])
            #expect(filtered.allSatisfy { $0["event"]?["engagement_id"] == tracked.id })

            // A new connection replays what followed a cursor.
            let late = try await server.session(server.orgA)
            let replay = try #require(try await late.call("events.subscribe", ["after": everything[3]["cursor"]!, "types": ["note"]])["result"])
            let missed = try await events(late, 2, of: replay["subscription"]!)
            #expect(missed.map { $0["event"]?["title"] } == ["Note 3", "Other 3"])
            #expect(try await late.call("events.unsubscribe", ["subscription": replay["subscription"]!])["result"]?["ended"] == true)
            #expect(try await late.call("events.unsubscribe", ["subscription": replay["subscription"]!]).errorCode == -32003)
        }
    }

    @Test("two organisations writing at once: each subscriber sees only its own; foreign cursors and engagements are refused like made-up ones")
    func isolation() async throws {
        let server = try await ServerFixture.start("events-isolation")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let b = try await server.session(server.orgB)
            let trackedA = try await TrackedEngagement.make(a)
            let trackedB = try await TrackedEngagement.make(b, code: "TB")
            let listenerA = try await server.session(server.orgA)
            let listenerB = try await server.session(server.orgB)
            let subA = try #require(try await listenerA.call("events.subscribe", ["types": ["note"]])["result"]?["subscription"])
            let subB = try #require(try await listenerB.call("events.subscribe", ["types": ["note"]])["result"]?["subscription"])
            async let writesA: Void = {
                for n in 1...10 { _ = try await a.call("timeline.note", ["engagement_id": trackedA.id, "title": .string("A\(n)")]) }
            }()
            async let writesB: Void = {
                for n in 1...10 { _ = try await b.call("timeline.note", ["engagement_id": trackedB.id, "title": .string("B\(n)")]) }
            }()
            _ = try await (writesA, writesB)
            let seenA = try await events(listenerA, 10, of: subA)
            let seenB = try await events(listenerB, 10, of: subB)
            #expect(seenA.map { $0["event"]?["title"]?.stringValue ?? "" } == (1...10).map { "A\($0)" })
            #expect(seenB.map { $0["event"]?["title"]?.stringValue ?? "" } == (1...10).map { "B\($0)" })

            // A's cursor and engagement, offered by B: exactly as made-up ones.
            let foreignCursor = try await listenerB.call("events.subscribe", ["after": seenA[0]["cursor"]!])
            let forged = try await listenerB.call("events.subscribe", ["after": "999999999"])
            #expect(foreignCursor.errorCode == -32602 && foreignCursor["error"] == forged["error"])
            #expect(try await listenerB.call("events.subscribe", ["after": "not-a-cursor"]).errorCode == -32602)
            let foreignEngagement = try await listenerB.call("events.subscribe", ["engagement_id": trackedA.id])
            let missing = try await listenerB.call("events.subscribe", ["engagement_id": .string(UUID().uuidString.lowercased())])
            #expect(foreignEngagement.errorCode == -32003 && foreignEngagement["error"] == missing["error"])
            // At most eight subscriptions per connection (B has one).
            for _ in 2...8 { #expect(try await listenerB.call("events.subscribe")["result"] != nil) }
            let ninth = try await listenerB.call("events.subscribe")
            #expect(ninth.errorCode == -32005 && ninth.errorReason == "too_many_subscriptions")
        }
    }

    @Test("a subscriber that stops reading gets a final events.dropped past the queue limit; its connection and calls go on")
    func slowSubscriber() async throws {
        let server = try await ServerFixture.start("events-slow")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(a)
            // openssl s_client is the client: its input is ours to write and its output stays unread until the
            // end, so it stops reading the socket and the server's writes back up.
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["openssl", "s_client", "-quiet", "-no_ign_eof", "-verify_return_error",
                                 "-CAfile", server.certificates.caFile.path, "-connect", "127.0.0.1:\(server.port)"]
            let input = Pipe()
            let output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            defer { process.terminate() }
            func send(_ line: String) { input.fileHandleForWriting.write(Data((line + "\n").utf8)) }
            send(#"{"jsonrpc":"2.0","id":1,"method":"session.authenticate","params":{"api_key":"\#(server.orgA.apiKey)"}}"#)
            send(#"{"jsonrpc":"2.0","id":2,"method":"events.subscribe","params":{"types":["note"]}}"#)
            for _ in 0..<100 where await server.application.eventHub.count == 0 { try await Task.sleep(for: .milliseconds(100)) }
            #expect(await server.application.eventHub.count == 1)

            // 60,000 notes in one psql statement: far more than the socket buffers hold.
            let owner = try server.ownerConnection()
            defer { owner.close() }
            _ = try owner.query("""
                INSERT INTO app.timeline_entries (organisation_id, engagement_id, entry_type, title, body)
                SELECT $1::uuid, $2::uuid, 'note', 'Bulk ' || n, repeat('x', 300) FROM generate_series(1, 60000) n
                """, [server.orgA.id, UUID(uuidString: tracked.id.stringValue!)!])
            for _ in 0..<600 where await server.application.eventHub.count > 0 { try await Task.sleep(for: .milliseconds(100)) }
            #expect(await server.application.eventHub.count == 0, "the subscription ended")

            // The connection goes on: read everything that waited, up to the reply to a ping sent now.
            send(#"{"jsonrpc":"2.0","id":3,"method":"system.ping"}"#)
            let reader = output.fileHandleForReading
            var text = ""
            while !text.contains(#""id":3"#) {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            let lines = text.split(separator: "\n")
            let delivered = lines.filter { $0.contains(#""method":"events.event""#) }.count
            let dropped = lines.filter { $0.contains(#""method":"events.dropped""#) }
            #expect(dropped.count == 1 && dropped.first?.contains(#""reason":"slow_consumer""#) == true)
            #expect(delivered > 0 && delivered < 60_000, "\(delivered) delivered before the drop")
            #expect(lines.last?.contains(#""id":3"#) == true && lines.last?.contains("result") == true, "the ping is answered")
        }
    }
}

import ArgumentParser
import EngagementClient
import Foundation
import JSONRPC

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Subscribe to the organisation's events (timeline entries) and print them as they happen.",
        discussion: """
            Prints one line per event: time, type, engagement and title (--json: the notification as received).
            Without --follow it prints what follows --after and exits once caught up. With --follow it keeps
            the subscription open (pinging the server so the connection never goes idle) until interrupted;
            if the server ends the subscription (events.dropped) it resubscribes from the last cursor printed.
            """)

    @Flag(help: "Keep printing events as they happen.") var follow = false
    @Option(help: "Replay from this cursor (a cursor printed earlier, at most 7 days old).") var after: String?
    @Option(help: "Only this engagement (id).") var engagement: String?
    @Flag(help: "With --engagement: its whole subtree.") var subtree = false
    @Option(parsing: .upToNextOption, help: "Only these entry types.") var types: [String] = []
    @Flag(help: "Print each notification as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let client = try await connection.connect()
        defer { Task { await client.close() } }
        var cursor = after
        while true {
            var params: JSONObject = [:]
            if let cursor { params["after"] = .string(cursor) }
            if let engagement { params["engagement_id"] = .string(engagement) }
            if subtree { params["subtree"] = true }
            if !types.isEmpty { params["types"] = .array(types.map { .string($0) }) }
            let reply = try await client.call("events.subscribe", .object(params))
            guard let subscription = reply["result"]?["subscription"] else {
                print(JSONWriter.string(reply))
                throw ExitCode(1)
            }
            cursor = reply["result"]?["cursor"]?.stringValue ?? cursor
            while true {
                let message: JSONValue?
                do {
                    message = try await client.nextNotification(timeout: .seconds(follow ? 60 : 2))
                } catch RPCClientError.timedOut {
                    if !follow { return }
                    _ = try await client.call("system.ping")  // keeps the connection from going idle
                    continue
                }
                guard let message, let params = message["params"], params["subscription"] == subscription else {
                    if message == nil { return }
                    continue
                }
                if message["method"] == "events.dropped" {
                    FileHandle.standardError.write(Data("subscription ended (\(params["reason"]?.stringValue ?? "?")); resubscribing\n".utf8))
                    break
                }
                cursor = params["cursor"]?.stringValue ?? cursor
                let line: String
                if json {
                    line = JSONWriter.string(message)
                } else {
                    let event = params["event"]
                    line = [params["cursor"], event?["occurred_at"], event?["type"], event?["engagement_id"], event?["title"]]
                        .map { $0?.stringValue ?? "" }.joined(separator: "  ")
                }
                // Written at once, not buffered: a follower piped into another program sees each event as it comes.
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
            }
        }
    }
}

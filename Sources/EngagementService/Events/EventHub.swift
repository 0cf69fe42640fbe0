import Foundation
import JSONRPC
import Logging
import NIOCore
import RPCTransport

/// Subscriptions to events (the timeline's entries) and their delivery as JSON-RPC notifications on the
/// subscriber's own connection. Each subscription keeps a cursor; a delivery asks `api.events_poll` for what
/// follows it, as the subscriber (its key's tenant context, re-checked each time), and sends it in order. One
/// delivery runs per subscription at a time; the `EventListener` starts them when the database announces new
/// entries of an organisation, and every second (entries that waited for an older transaction).
///
/// A subscriber that does not read: every notification not yet handed to its socket counts against
/// `queueLimit`; past it the subscription gets a final `events.dropped` and ends (its connection and other calls
/// go on). Re-authenticating the connection, or the key being revoked, ends its subscriptions the same way.
public actor EventHub {
    public static let perConnectionLimit = 8
    public static let queueLimit = 1000
    static let page = 200

    struct Subscription {
        let id: String
        let session: Session
        let principal: Principal
        let outbound: ConnectionOutbound
        let filters: JSONObject
        var cursor: String
        var unsent = 0
        var delivering = false
        var again = false
    }

    private let database: TenantDatabase
    private let logger: Logger
    private var subscriptions: [String: Subscription] = [:]
    private var sequence = 0

    public init(database: TenantDatabase, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// Starts a subscription at `cursor` (already checked by the database); its first delivery follows at once.
    func subscribe(session: Session, principal: Principal, outbound: ConnectionOutbound, filters: JSONObject, cursor: String)
        throws(RPCError) -> String
    {
        let connectionID = session.connectionID
        let open = subscriptions.values.filter { $0.session.connectionID == connectionID }.count
        guard open < Self.perConnectionLimit else {
            throw RPCError(.overCapacity, "Over capacity: at most \(Self.perConnectionLimit) subscriptions per connection",
                           reason: "too_many_subscriptions", limit: Self.perConnectionLimit)
        }
        if open == 0 {
            outbound.closed.whenComplete { _ in Task { await self.connectionClosed(connectionID) } }
        }
        sequence += 1
        let id = "s\(sequence)"
        subscriptions[id] = Subscription(id: id, session: session, principal: principal, outbound: outbound, filters: filters, cursor: cursor)
        Task { await self.pump(id) }
        return id
    }

    func unsubscribe(_ id: String, session: Session) -> Bool {
        guard subscriptions[id]?.session.connectionID == session.connectionID else { return false }
        subscriptions[id] = nil
        return true
    }

    /// Delivers to the subscriptions of one organisation, or of all.
    func deliver(organisation: UUID?) {
        for (id, subscription) in subscriptions where organisation == nil || subscription.principal.organisationID == organisation {
            Task { await self.pump(id) }
        }
    }

    /// Subscriptions open now, on every connection.
    public var count: Int { subscriptions.count }

    private func connectionClosed(_ connectionID: UInt64) {
        subscriptions = subscriptions.filter { $0.value.session.connectionID != connectionID }
    }

    private func pump(_ id: String) async {
        guard let subscription = subscriptions[id] else { return }
        if subscription.delivering {
            subscriptions[id]?.again = true
            return
        }
        subscriptions[id]?.delivering = true
        repeat {
            subscriptions[id]?.again = false
            guard let current = subscriptions[id] else { return }
            guard current.session.principal == current.principal else {
                end(id, reason: "unauthenticated")
                return
            }
            var params = current.filters
            params["after"] = .string(current.cursor)
            params["limit"] = .number(String(Self.page))
            do throws(RPCError) {
                let body = try await database.call(
                    as: current.principal, method: "events.poll", function: "api.events_poll", params: JSONWriter.encode(.object(params)))
                guard case .result(let bytes) = body, let reply = try? JSONParser.parse(bytes),
                    let events = reply["events"]?.arrayValue, let cursor = reply["cursor"]?.stringValue
                else { throw RPCError(.internalError, reason: "internal_error") }
                guard subscriptions[id] != nil else { return }  // unsubscribed while the poll ran
                for event in events { send(id, event: event) }
                guard subscriptions[id] != nil else { return }  // dropped: too slow
                subscriptions[id]?.cursor = cursor
                if reply["more"]?.boolValue == true { subscriptions[id]?.again = true }
            } catch {
                switch error.code {
                case .unauthenticated: end(id, reason: "unauthenticated")
                case .invalidParams, .notFound: end(id, reason: "resync")
                default: logger.warning("event delivery failed; retrying", metadata: ["subscription": "\(id)", "error": "\(error.reason)"])
                }
                subscriptions[id]?.delivering = false
                return
            }
        } while subscriptions[id]?.again == true
        subscriptions[id]?.delivering = false
    }

    private func send(_ id: String, event: JSONValue) {
        guard let subscription = subscriptions[id] else { return }
        guard subscription.unsent < Self.queueLimit else {
            end(id, reason: "slow_consumer")
            return
        }
        subscriptions[id]?.unsent += 1
        let line = Self.notification("events.event", ["subscription": .string(id), "cursor": event["cursor"] ?? .null,
                                                      "event": event["event"] ?? .null])
        subscription.outbound.send(line).whenComplete { _ in Task { await self.sent(id) } }
    }

    private func sent(_ id: String) { subscriptions[id]?.unsent -= 1 }

    /// The subscription's last word: `events.dropped` with why and the cursor to resume from.
    private func end(_ id: String, reason: String) {
        guard let subscription = subscriptions.removeValue(forKey: id) else { return }
        logger.info("subscription ended", metadata: ["subscription": "\(id)", "reason": "\(reason)"])
        subscription.outbound.send(Self.notification("events.dropped", [
            "subscription": .string(id), "reason": .string(reason), "cursor": .string(subscription.cursor),
        ]))
    }

    static func notification(_ method: String, _ params: JSONObject) -> [UInt8] {
        JSONWriter.encode(.object(["jsonrpc": "2.0", "method": .string(method), "params": .object(params)]))
    }
}

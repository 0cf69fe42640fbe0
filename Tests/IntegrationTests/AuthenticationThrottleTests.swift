import EngagementClient
import EngagementService
import Foundation
import JSONRPC
import Testing

/// API-key brute force: failed `session.authenticate` attempts back off per connection and per source address.
/// The state machine without a clock or socket, then the server.
@Suite("Authentication throttle")
struct AuthenticationThrottleTests {
    let start = ContinuousClock.now
    func at(_ seconds: Double) -> ContinuousClock.Instant { start + .milliseconds(Int(seconds * 1000)) }

    @Test("over the burst a key is blocked for a backoff that doubles, up to the maximum; failures leave the window")
    func backoff() {
        var throttle = AuthenticationThrottle(
            perConnection: .init(burst: 3, window: .seconds(60), initialBackoff: .seconds(1), maximumBackoff: .seconds(4)),
            perAddress: .init(burst: 100, window: .seconds(60)))
        let keys: [AuthenticationThrottle.Key] = [.connection(1)]
        for second in 0..<3 {
            throttle.recordFailure(keys, now: at(Double(second)))
            #expect(throttle.check(keys, now: at(Double(second))) == .allow, "within the burst")
        }
        throttle.recordFailure(keys, now: at(3))
        #expect(throttle.check(keys, now: at(3.5)) == .refuse(retryAfter: .milliseconds(500)))
        #expect(throttle.check(keys, now: at(4)) == .allow)
        throttle.recordFailure(keys, now: at(4))
        #expect(throttle.check(keys, now: at(4)) == .refuse(retryAfter: .seconds(2)), "doubled")
        throttle.recordFailure(keys, now: at(6))
        throttle.recordFailure(keys, now: at(10))
        #expect(throttle.check(keys, now: at(10)) == .refuse(retryAfter: .seconds(4)), "8 s capped at the maximum")
        // A minute later the old failures are out of the window: one more is within the burst.
        throttle.recordFailure(keys, now: at(80))
        #expect(throttle.check(keys, now: at(80)) == .allow)
    }

    @Test("a success clears its connection, not its address; any blocked key refuses; records stay within capacity")
    func successAndCapacity() {
        var throttle = AuthenticationThrottle(
            perConnection: .init(burst: 1, window: .seconds(60)), perAddress: .init(burst: 2, window: .seconds(60)), capacity: 2)
        let first: [AuthenticationThrottle.Key] = [.connection(1), .address("10.0.0.1")]
        throttle.recordFailure(first, now: at(0))
        throttle.recordSuccess(connection: 1)
        throttle.recordFailure(first, now: at(1))
        #expect(throttle.check(first, now: at(1)) == .allow, "the connection's count was cleared; the address is at 2")
        let second: [AuthenticationThrottle.Key] = [.connection(2), .address("10.0.0.1")]
        throttle.recordFailure(second, now: at(2))
        #expect(throttle.check(second, now: at(2)) == .refuse(retryAfter: .seconds(1)), "the address is over its burst")
        #expect(throttle.check([.connection(3), .address("10.0.0.2")], now: at(2)) == .allow, "another address")
        // Capacity 2: failing from many addresses keeps the newest records only.
        for n in 0..<5 { throttle.recordFailure([.address("192.0.2.\(n)")], now: at(100 + Double(n))) }
        #expect(throttle.check([.address("192.0.2.4")], now: at(104)) == .allow)
        #expect(throttle.recordCount <= 2)
    }

    @Test("over the wire: a connection guessing keys gets -32005 too_many_attempts with retry_after_ms, even for a right key, then recovers; other addresses' connections are unaffected by its count")
    func server() async throws {
        let server = try await ServerFixture.start("auth-throttle") {
            $0.authenticationFailuresPerConnection = 2
            $0.authenticationFailuresPerAddress = 4
        }
        try await server.scoped {
            let guesser = try await server.connect()
            let wrong: JSONValue = ["api_key": "esk_test_0000000000000000_wrongwrongwrongwrongwrongwrong"]
            // Three wrong keys and then the right one, pipelined: the right one arrives within the 1 s backoff even on
            // a loaded machine (sent one by one, a slow round trip could outlast it).
            var burst: [UInt8] = []
            for (id, key) in [wrong, wrong, wrong, ["api_key": .string(server.orgA.apiKey)]].enumerated() {
                burst += JSONWriter.encode(["jsonrpc": "2.0", "method": "session.authenticate", "params": key, "id": .number(String(id))]) + [0x0A]
            }
            try await guesser.send(burst)
            var replies: [Int: JSONValue] = [:]
            for _ in 0..<4 {
                let reply = try #require(try await guesser.nextMessage())
                replies[reply["id"]?.intValue ?? -1] = reply
            }
            for id in 0..<3 { #expect(replies[id]?.errorCode == -32001, "\(replies[id].map(JSONWriter.string) ?? "no reply")") }
            let blocked = try #require(replies[3])
            #expect(blocked.errorCode == -32005 && blocked.errorReason == "too_many_attempts", "\(JSONWriter.string(blocked))")
            let wait = try #require(blocked["error"]?["data"]?["retry_after_ms"]?.intValue)
            #expect(wait > 0 && wait <= 1000)
            try await Task.sleep(for: .milliseconds(wait + 50))
            #expect(try await guesser.call("session.authenticate", ["api_key": .string(server.orgA.apiKey)])["result"] != nil, "after the backoff")
            // The address has 3 failures; a second connection from it adds 2 more: over the address's burst of 4, a
            // third connection is refused at once. The third is connected (its TLS handshake done) beforehand: the
            // address's backoff is 1 s, which a handshake on a loaded machine once outlasted.
            let second = try await server.connect()
            let third = try await server.connect()
            #expect(try await third.call("system.ping")["result"] != nil)
            #expect(try await second.call("session.authenticate", wrong).errorCode == -32001)
            #expect(try await second.call("session.authenticate", wrong).errorCode == -32001)
            let refused = try await third.call("session.authenticate", ["api_key": .string(server.orgA.apiKey)])
            #expect(refused.errorCode == -32005 && refused.errorReason == "too_many_attempts", "\(JSONWriter.string(refused))")
            // The authenticated connection is unaffected.
            #expect(try await guesser.call("session.whoami")["result"] != nil)
        }
    }
}

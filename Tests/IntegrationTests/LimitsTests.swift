import EngagementClient
import EngagementService
import Foundation
import JSONRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Limits that keep one client from hurting the others, and TLS policy.
@Suite("Connection limits and TLS")
struct LimitsTests {
    @Test("bytes that are not TLS get the connection closed; the server keeps serving")
    func plainTextOnTLSPort() async throws {
        let server = try await ServerFixture.start("plaintext")
        try await server.scoped {
            let closed = try await RawSocket.sendAndWaitForClose(
                port: server.port, bytes: Array("{\"jsonrpc\":\"2.0\",\"method\":\"system.ping\",\"id\":1}\n".utf8),
                within: .seconds(5))
            #expect(closed)
            #expect(try await server.connect().call("system.ping")["result"] != nil)
        }
    }

    @Test("a client that never completes the TLS handshake is disconnected after the handshake timeout")
    func handshakeTimeout() async throws {
        let server = try await ServerFixture.start("handshake") { $0.handshakeTimeout = .milliseconds(300) }
        try await server.scoped {
            let closed = try await RawSocket.sendAndWaitForClose(port: server.port, bytes: [], within: .seconds(5))
            #expect(closed)
        }
    }

    @Test("a connection that completed its handshake outlives the handshake timeout")
    func handshakeTimeoutSparesEstablishedConnections() async throws {
        let server = try await ServerFixture.start("handshake-ok") { $0.handshakeTimeout = .seconds(1) }
        try await server.scoped {
            let client = try await server.connect()
            #expect(try await client.call("system.ping")["result"] != nil)
            try await Task.sleep(for: .milliseconds(2500))
            #expect(try await client.call("system.ping")["result"] != nil)
        }
    }

    @Test("an idle connection is closed after the idle timeout")
    func idleTimeout() async throws {
        // 3 s, not 1: on a loaded machine the TLS handshake and the first call alone can take a second.
        let server = try await ServerFixture.start("idle") { $0.idleTimeout = .seconds(3) }
        try await server.scoped {
            let client = try await server.connect()
            #expect(try await client.call("system.ping")["result"] != nil)
            #expect(try await client.nextLine(timeout: .seconds(10)) == nil, "closed by the server")
        }
    }

    @Test("a connection over the cap gets -32005 and is closed; capacity comes back when one leaves")
    func connectionCap() async throws {
        let server = try await ServerFixture.start("conncap") { $0.maximumConnections = 2 }
        try await server.scoped {
            let first = try await server.connect()
            let second = try await server.connect()
            #expect(try await first.call("system.ping")["result"] != nil)
            #expect(try await second.call("system.ping")["result"] != nil)
            let third = try await server.connect()
            let refusal = try #require(try await third.nextMessage())
            #expect(refusal.errorCode == -32005)
            #expect(refusal.errorReason == "too_many_connections")
            #expect(try await third.nextLine() == nil)
            await first.close()
            var admitted = false
            for _ in 0..<50 where !admitted {
                try await Task.sleep(for: .milliseconds(100))
                let next = try await server.connect()
                admitted = (try? await next.call("system.ping", timeout: .seconds(2)))?["result"] != nil
                await next.close()
            }
            #expect(admitted)
        }
    }

    @Test("with one request in flight per connection, a pipelined burst is answered completely and in order")
    func inFlightCap() async throws {
        let server = try await ServerFixture.start("inflight") { $0.maximumInFlightPerConnection = 1 }
        try await server.scoped {
            let client = try await server.session(server.orgA)
            var burst: [UInt8] = []
            for index in 0..<40 { burst += Array(#"{"jsonrpc":"2.0","method":"session.whoami","id":\#(index)}"#.utf8) + [0x0A] }
            try await client.send(burst)
            for index in 0..<40 {
                let reply = try #require(try await client.nextMessage())
                #expect(reply["id"]?.intValue == index)
                #expect(reply["result"] != nil)
            }
        }
    }

    @Test("a client that disconnects mid-request does not disturb the server")
    func abruptDisconnects() async throws {
        let server = try await ServerFixture.start("abrupt")
        try await server.scoped {
            for _ in 0..<5 {
                let client = try await server.session(server.orgA)
                try await client.send(Array(#"{"jsonrpc":"2.0","method":"session.whoami","id":1}"#.utf8) + [0x0A])
                try await client.send(Array(#"{"jsonrpc":"2.0","method":"session.who"#.utf8))  // half a line
                await client.close()
            }
            let survivor = try await server.session(server.orgB)
            #expect(try await survivor.call("session.whoami")["result"]?["organisation"]?["name"] == "Organisation B")
        }
    }

    @Test("TLS 1.1 is refused; 1.2 is accepted")
    func tlsVersions() async throws {
        let server = try await ServerFixture.start("tlsversion")
        try await server.scoped {
            let old = try await RPCConnection.connect(
                host: "127.0.0.1", port: server.port,
                tls: ClientTLS(caFile: server.certificates.caFile.path, maximumVersion: .tlsv11))
            await expectHandshakeFailure(old, reason: "TLSV1_ALERT_PROTOCOL_VERSION")
            let modern = try await RPCConnection.connect(
                host: "127.0.0.1", port: server.port,
                tls: ClientTLS(caFile: server.certificates.caFile.path, maximumVersion: .tlsv12))
            #expect(try await modern.call("system.ping")["result"] != nil)
        }
    }

    @Test("with a client CA configured, only clients with a certificate it signed get through (mutual TLS)")
    func mutualTLS() async throws {
        let base = try await TestCluster.shared.base()
        let server = try await ServerFixture.start("mtls") { $0.clientCAFile = base.certificates.caFile.path }
        try await server.scoped {
            let anonymous = try await server.connect(clientCertificate: false)
            await expectHandshakeFailure(anonymous, reason: "CERTIFICATE_REQUIRED")
            let stranger = try await RPCConnection.connect(
                host: "127.0.0.1", port: server.port,
                tls: ClientTLS(
                    caFile: base.certificates.caFile.path, certificateFile: base.certificates.strangerClient.certificate.path,
                    privateKeyFile: base.certificates.strangerClient.privateKey.path))
            await expectHandshakeFailure(stranger, reason: "TLSV1_ALERT_UNKNOWN_CA")
            let trusted = try await server.connect(clientCertificate: true)
            #expect(try await trusted.call("system.ping")["result"] != nil)
        }
    }

    @Test("the client refuses a server whose certificate does not chain to its CA")
    func clientVerifiesServer() async throws {
        let base = try await TestCluster.shared.base()
        let server = try await ServerFixture.start("verify")
        try await server.scoped {
            let wrongCA = base.directory.appendingPathComponent("stranger-tls/ca.pem").path
            let client = try await RPCConnection.connect(host: "127.0.0.1", port: server.port, tls: ClientTLS(caFile: wrongCA))
            await expectHandshakeFailure(client, reason: "CERTIFICATE_VERIFY_FAILED")
        }
    }
}

/// The first call on `connection` fails because the TLS handshake failed for `reason` (BoringSSL's name of the
/// alert or verification error), not for a timeout or any other cause.
func expectHandshakeFailure(_ connection: RPCConnection, reason: String, sourceLocation: SourceLocation = #_sourceLocation) async {
    do {
        let reply = try await connection.call("system.ping", timeout: .seconds(5))
        Issue.record("the call was answered: \(JSONWriter.string(reply))", sourceLocation: sourceLocation)
    } catch RPCClientError.connectionFailed(let failure) {
        #expect(failure.contains(reason), "\(failure)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("failed otherwise: \(error)", sourceLocation: sourceLocation)
    }
}

/// A plain TCP client for what a TLS client cannot do: send non-TLS bytes, or nothing at all.
enum RawSocket {
    /// Connects, sends `bytes`, and reports whether the server closed the connection within `within`.
    /// Its blocking reads run on a thread of its own, never on the cooperative pool the server in this process needs.
    static func sendAndWaitForClose(port: Int, bytes: [UInt8], within: Duration) async throws -> Bool {
        try await onOwnThread {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw POSIXFailure.socket }
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw POSIXFailure.connect }
            if !bytes.isEmpty { _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) } }
            let deadline = ContinuousClock.now + within
            var buffer = [UInt8](repeating: 0, count: 4096)
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            while ContinuousClock.now < deadline {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count == 0 { return true }  // orderly close
                if count < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { return true }  // reset
            }
            return false
        }
    }

    enum POSIXFailure: Error { case socket, connect }
}

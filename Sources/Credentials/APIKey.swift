import Crypto
import Foundation

/// An API key: `esk_<key id>_<secret>`.
///
/// - `esk_` makes a leaked key recognisable (secret scanners, log searches);
/// - the key id (8 random bytes, 16 hex characters) is public: it names the key in listings and logs;
/// - the secret is 32 random bytes (256 bits, 64 hex characters) from the system's CSPRNG.
///
/// Only SHA-256 of the whole key is stored. A high-entropy secret needs no slow password hash: nobody can
/// guess a 256-bit preimage, so a fast hash keeps authentication cheap without weakening it.
public struct APIKey: Sendable, Hashable {
    public static let prefix = "esk_"
    static let keyIDLength = 16
    static let secretLength = 64

    public let keyID: String
    /// The full key text. Shown once at creation; never logged.
    public let text: String

    /// A new random key.
    public static func generate() -> APIKey {
        let keyID = RandomSecrets.hex(RandomSecrets.bytes(8))
        let secret = RandomSecrets.hex(RandomSecrets.bytes(32))
        return APIKey(keyID: keyID, text: "\(prefix)\(keyID)_\(secret)")
    }

    /// Parses a key presented by a client; nil when it does not have the shape of a key.
    public init?(parsing text: String) {
        let bytes = Array(text.utf8)
        let expected = Self.prefix.utf8.count + Self.keyIDLength + 1 + Self.secretLength
        guard bytes.count == expected, text.hasPrefix(Self.prefix) else { return nil }
        let idStart = Self.prefix.utf8.count
        let separator = idStart + Self.keyIDLength
        guard bytes[separator] == UInt8(ascii: "_") else { return nil }
        let isLowerHex = { (b: UInt8) in (b >= 48 && b <= 57) || (b >= 97 && b <= 102) }
        guard bytes[idStart..<separator].allSatisfy(isLowerHex), bytes[(separator + 1)...].allSatisfy(isLowerHex) else {
            return nil
        }
        self.init(keyID: String(decoding: bytes[idStart..<separator], as: UTF8.self), text: text)
    }

    private init(keyID: String, text: String) {
        self.keyID = keyID
        self.text = text
    }

    /// SHA-256 of the key text: what the database stores.
    public var hash: [UInt8] { Array(SHA256.hash(data: Data(text.utf8))) }

    /// The same, hex encoded (for the SQL function that stores it: `decode(…, 'hex')`).
    public var hashHex: String { RandomSecrets.hex(hash) }

    /// Compares this key's hash with a stored hash in time that does not depend on where they differ.
    public func matches(storedHash: [UInt8]) -> Bool {
        let computed = hash
        guard computed.count == storedHash.count else { return false }
        var difference: UInt8 = 0
        for index in computed.indices { difference |= computed[index] ^ storedHash[index] }
        return difference == 0
    }
}

extension APIKey: CustomStringConvertible {
    /// Never the secret: `esk_<key id>_…`, safe for logs.
    public var description: String { "\(Self.prefix)\(keyID)_…" }
}


import Foundation
/// Secrets made from the system's CSPRNG (getrandom on Linux).
public enum RandomSecrets {
    /// A fresh password for a reporting login: 24 random bytes, hex encoded. PostgreSQL keeps only a SCRAM
    /// verifier of it.
    public static func reportingPassword() -> String { hex(bytes(24)) }

    static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}

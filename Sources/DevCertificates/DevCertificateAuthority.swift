import Crypto
import Foundation
import SwiftASN1
import X509

/// A private certificate authority for development and tests: a self-signed CA that issues a server
/// certificate for localhost (DNS `localhost`, IPs 127.0.0.1 and ::1) and, for mutual TLS, client
/// certificates. Keys are P-256; private key files are written with mode 0600.
public struct DevCertificateAuthority: Sendable {
    public struct IssuedFiles: Sendable {
        public let certificate: URL
        public let privateKey: URL
    }

    public let certificateFile: URL
    let certificate: Certificate
    let key: P256.Signing.PrivateKey

    /// Loads the CA from `directory` (`ca.pem`, `ca-key.pem`) or creates it there.
    public static func loadOrCreate(in directory: URL, commonName: String = "engagement-service dev CA") throws
        -> DevCertificateAuthority
    {
        let certificateFile = directory.appendingPathComponent("ca.pem")
        let keyFile = directory.appendingPathComponent("ca-key.pem")
        let fm = FileManager.default
        if fm.fileExists(atPath: certificateFile.path), fm.fileExists(atPath: keyFile.path) {
            let certificate = try Certificate(pemEncoded: String(contentsOf: certificateFile, encoding: .utf8))
            let key = try P256.Signing.PrivateKey(pemRepresentation: String(contentsOf: keyFile, encoding: .utf8))
            return DevCertificateAuthority(certificateFile: certificateFile, certificate: certificate, key: key)
        }
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName(commonName) }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(key))
        try write(certificate.serializeAsPEM().pemString, to: certificateFile, private: false)
        try write(key.pemRepresentation, to: keyFile, private: true)
        return DevCertificateAuthority(certificateFile: certificateFile, certificate: certificate, key: key)
    }

    /// Issues a server certificate for localhost (and `hostNames`) into `directory` (`server.pem`,
    /// `server-key.pem`), unless a valid one signed by this CA for those names is already there.
    public func serverCertificate(in directory: URL, hostNames: [String] = []) throws -> IssuedFiles {
        let files = IssuedFiles(
            certificate: directory.appendingPathComponent("server.pem"),
            privateKey: directory.appendingPathComponent("server-key.pem"))
        if let existing = try? Certificate(pemEncoded: String(contentsOf: files.certificate, encoding: .utf8)),
            existing.issuer == certificate.subject, existing.notValidAfter > Date().addingTimeInterval(86400),
            FileManager.default.fileExists(atPath: files.privateKey.path),
            hostNames.allSatisfy({ name in
                (try? existing.extensions.subjectAlternativeNames)??.contains(.dnsName(name)) == true
            })
        {
            return files
        }
        try issue(
            commonName: "localhost", usage: .serverAuth,
            alternativeNames: hostNames.map { .dnsName($0) } + [
                .dnsName("localhost"),
                .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                .ipAddress(ASN1OctetString(contentBytes: ArraySlice([UInt8](repeating: 0, count: 15) + [1]))),
            ], to: files)
        return files
    }

    /// Issues a client certificate (for mutual TLS) into `directory` as `<name>.pem` and `<name>-key.pem`.
    public func clientCertificate(commonName: String, in directory: URL, fileName: String) throws -> IssuedFiles {
        let files = IssuedFiles(
            certificate: directory.appendingPathComponent("\(fileName).pem"),
            privateKey: directory.appendingPathComponent("\(fileName)-key.pem"))
        try issue(commonName: commonName, usage: .clientAuth, alternativeNames: [], to: files)
        return files
    }

    private func issue(
        commonName: String, usage: ExtendedKeyUsage.Usage, alternativeNames: [GeneralName], to files: IssuedFiles
    ) throws {
        let leafKey = P256.Signing.PrivateKey()
        let now = Date()
        let leaf = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(leafKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(825 * 86400),
            issuer: certificate.subject, subject: try DistinguishedName { CommonName(commonName) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([usage])
                if !alternativeNames.isEmpty { SubjectAlternativeNames(alternativeNames) }
            },
            issuerPrivateKey: .init(key))
        try Self.write(leaf.serializeAsPEM().pemString, to: files.certificate, private: false)
        try Self.write(leafKey.pemRepresentation, to: files.privateKey, private: true)
    }

    private static func write(_ text: String, to file: URL, private isPrivate: Bool) throws {
        try Data(text.utf8).write(to: file, options: .atomic)
        chmod(file.path, isPrivate ? 0o600 : 0o644)
    }
}

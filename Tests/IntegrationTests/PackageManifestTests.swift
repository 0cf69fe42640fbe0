import Foundation
import Testing

/// `Package.swift` declares for each target exactly the modules its files import: nothing missing (which only
/// builds by accident, through another target), nothing unused.
@Suite("Package manifest")
struct PackageManifestTests {
    /// Modules every Swift file may import without declaring them.
    static let platform: Set<String> = ["Foundation", "Glibc", "Synchronization", "Dispatch", "Testing", "XCTest"]

    struct Target {
        let name: String
        let path: String
        let dependencies: Set<String>
    }

    /// The targets of Package.swift, read from its text: `.target` / `.executableTarget` / `.testTarget` with
    /// `name:`, optional `path:`, and `dependencies:` of target names, `.product(name:)` and the shorthand
    /// constants defined at the top (`let logging = Target.Dependency.product(name: "Logging", …)`).
    static func targets() throws -> [Target] {
        let manifest = try String(contentsOfFile: "Package.swift", encoding: .utf8)
        var shorthands: [String: String] = [:]
        for match in manifest.matches(of: #/let (\w+) = Target\.Dependency\.product\(name: "(\w+)"/#) {
            shorthands[String(match.1)] = String(match.2)
        }
        let starts = manifest.matches(of: #/\.(target|executableTarget|testTarget|systemLibrary)\(\s*name: "([\w-]+)"/#)
        return starts.enumerated().compactMap { index, start in
            guard start.1 != "systemLibrary" else { return nil }
            let end = index + 1 < starts.count ? starts[index + 1].range.lowerBound : manifest.endIndex
            let body = manifest[start.range.upperBound..<end]
            var dependencies = Set<String>()
            if let list = body.firstMatch(of: #/dependencies: \[([^\]]*)\]/#) {
                let text = String(list.1)
                for product in text.matches(of: #/\.product\(name: "(\w+)"/#) { dependencies.insert(String(product.1)) }
                let withoutProducts = text.replacing(#/\.product\([^)]*\)/#, with: "")
                for name in withoutProducts.matches(of: #/"(\w+)"/#) { dependencies.insert(String(name.1)) }
                for word in withoutProducts.matches(of: #/\b([a-z]\w*)\b/#) {
                    if let module = shorthands[String(word.1)] { dependencies.insert(module) }
                }
            }
            let kind = start.1 == "testTarget" ? "Tests" : "Sources"
            let path = body.firstMatch(of: #/path: "([^"]+)"/#).map { String($0.1) } ?? "\(kind)/\(start.2)"
            return Target(name: String(start.2), path: path, dependencies: dependencies)
        }
    }

    static func imports(under path: String) throws -> Set<String> {
        let root = URL(fileURLWithPath: path)
        let files = try #require(FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil))
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        var modules = Set<String>()
        for file in files {
            for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
                if let match = line.firstMatch(of: #/^(?:@_exported |@testable |@preconcurrency )?import (?:(?:enum|struct|class|protocol|func|typealias) )?(\w+)/#) {
                    modules.insert(String(match.1))
                }
            }
        }
        return modules.subtracting(platform)
    }

    @Test("every target's dependencies are exactly the modules its files import")
    func dependenciesMatchImports() throws {
        let targets = try Self.targets()
        #expect(targets.count >= 15, "\(targets.map(\.name))")
        for target in targets {
            let imported = try Self.imports(under: target.path)
            #expect(imported == target.dependencies,
                    "\(target.name): imported but not declared \(imported.subtracting(target.dependencies).sorted()), declared but not imported \(target.dependencies.subtracting(imported).sorted())")
        }
    }
}

// swift-tools-version: 6.2
// Twill: a Calico-style per-node routing agent. Target layout and dependency arrows are
// documented in docs/architecture.md; keep both in step.
import PackageDescription

/// Pure targets import neither Foundation, Dispatch nor Glibc (a test greps for it).
let pureSettings: [SwiftSetting] = [
    .strictMemorySafety(),
]

let package = Package(
    name: "Twill",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "twillctl", targets: ["twillctl"]),
        .executable(name: "twill-bgpd", targets: ["twill-bgpd"]),
        .executable(name: "twill-bench", targets: ["twill-bench"]),
        .executable(name: "twill-dstool", targets: ["twill-dstool"]),
        .executable(name: "twill-cni", targets: ["twill-cni"]),
        .executable(name: "twill-node", targets: ["twill-node"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // MARK: C system libraries (exact pkg-config names, STYLE.md §c)
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CNetlink", pkgConfig: "libnl-route-3.0",
                       providers: [.apt(["libnl-3-dev", "libnl-route-3-dev"])]),
        .systemLibrary(name: "CNFTables", pkgConfig: "libnftnl", providers: [.apt(["libnftnl-dev", "libmnl-dev"])]),
        .systemLibrary(name: "CNetlinkWorkload", pkgConfig: "libnl-route-3.0",
                       providers: [.apt(["libnl-3-dev", "libnl-route-3-dev"])]),
        .target(name: "CSystemShims"),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev", "openssl"])]),

        // MARK: Pure core (no Foundation, no Dispatch, no Glibc)
        .target(name: "NetCore", swiftSettings: pureSettings),
        .target(name: "NodeModel", dependencies: ["NetCore"], swiftSettings: pureSettings),
        .target(name: "BGPWire", dependencies: ["NetCore"], swiftSettings: pureSettings),
        .target(name: "BGPSession", dependencies: ["NetCore"], swiftSettings: pureSettings),
        .target(name: "Dataplane", dependencies: ["NetCore"], swiftSettings: pureSettings),
        .target(name: "Calc", dependencies: ["NetCore", "NodeModel"], swiftSettings: pureSettings),
        .target(name: "BGPRIB", dependencies: ["BGPWire", "NetCore"], swiftSettings: pureSettings),
        // The node agent's pure core: datastore state + BGP-learned routes → peers, advertised
        // prefixes and the dataplane's routing input; readiness.
        .target(name: "NodeAgentCore", dependencies: ["Calc", "Dataplane", "NodeModel", "NetCore"],
                swiftSettings: pureSettings),

        // MARK: I/O shells
        .target(name: "ResourceFormat", dependencies: ["NodeModel", .product(name: "Yams", package: "Yams")]),
        .target(name: "Datastore", dependencies: ["CSQLite"]),
        .target(name: "Posix", dependencies: ["CSystemShims", "NetCore", .product(name: "SystemPackage", package: "swift-system")]),
        .target(name: "BGPSpeaker", dependencies: [
            "BGPRIB", "BGPSession", "BGPWire", "NetCore", "NodeModel", "Posix", "ResourceFormat",
            .product(name: "Logging", package: "swift-log"), .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "DataplaneTesting", dependencies: ["Dataplane", "NetCore"], swiftSettings: pureSettings),
        .target(name: "DataplaneLinux", dependencies: [
            "Dataplane", "NetCore", "CNetlink", "CNetlinkWorkload", "CNFTables", "Posix",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "ResourceClient", dependencies: ["NodeModel", "ResourceFormat", "Datastore", "NetCore"]),
        .target(name: "IPAM", dependencies: ["Datastore", "NodeModel", "NetCore"]),
        .target(name: "CtlCore", dependencies: [
            "IPAM", "ResourceClient", "NodeModel", "ResourceFormat", "Datastore", "DatastoreEtcd", "NetCore", "Posix",
        ]),

        .target(name: "CNIPlugin", dependencies: ["IPAM", "DataplaneLinux", "Datastore", "NodeModel", "NetCore"]),
        // The node agent's shell: datastore watch, speaker and dataplane wiring, autodetection,
        // health and metrics HTTP, the BIRD backend.
        .target(name: "NodeAgent", dependencies: [
            "NodeAgentCore", "Calc", "BGPSpeaker", "BGPRIB", "DataplaneLinux", "Dataplane", "IPAM", "ResourceClient",
            "ResourceFormat", "Datastore", "DatastoreEtcd", "NodeModel", "NetCore", "Posix", "CNetlink",
            .product(name: "Logging", package: "swift-log"),
        ]),

        // MARK: Executables (thin: argument parsing and wiring only)
        .executableTarget(name: "twill-cni", dependencies: ["CNIPlugin", "Datastore", "DatastoreEtcd"]),
        .executableTarget(name: "twillctl", dependencies: [
            "CtlCore", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "twill-bgpd", dependencies: [
            "BGPSpeaker", "Posix", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "twill-dstool", dependencies: [
            "Datastore", "DatastoreEtcd", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "twill-dp-apply", dependencies: [
            "Dataplane", "DataplaneLinux", "NetCore", "CNetlink",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "twill-bench", dependencies: [
            "CtlCore", "ResourceClient", "Datastore", "NodeModel", "ResourceFormat", "BGPWire", "NetCore", "Posix",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .executableTarget(name: "twill-node", dependencies: [
            "NodeAgent", "Posix", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        .executableTarget(name: "twill-nft-bench", dependencies: ["DataplaneLinux", "Dataplane", "NetCore"]),

        // MARK: Tests
        .target(name: "TestSupport", dependencies: ["NetCore", "Posix"], path: "Tests/TestSupport"),
        .testTarget(name: "NetCoreTests", dependencies: ["NetCore"]),
        .testTarget(name: "NodeModelTests", dependencies: ["NodeModel", "ResourceFormat", "NetCore", "TestSupport"]),
        .target(name: "DatastoreConformance", dependencies: ["Datastore"], path: "Tests/DatastoreConformance"),
        .testTarget(name: "DatastoreTests", dependencies: ["Datastore", "DatastoreConformance", "TestSupport"]),
        .testTarget(name: "ResourceClientTests", dependencies: ["ResourceClient", "Datastore", "NodeModel", "NetCore", "TestSupport"]),
        .testTarget(name: "CtlTests", dependencies: ["CtlCore", "ResourceClient", "NodeModel", "Datastore", "TestSupport"],
                    exclude: ["Golden", "Fixtures"]),
        .testTarget(name: "BGPWireTests", dependencies: ["BGPWire", "NetCore", "TestSupport"],
                    exclude: ["Corpus/bad-inputs.txt", "Vectors/SOURCES.md"]),
        .testTarget(name: "BGPRIBTests", dependencies: ["BGPRIB", "BGPWire", "NetCore"]),
        .testTarget(name: "BGPSessionTests", dependencies: ["BGPSession", "NetCore", "TestSupport"]),
        .testTarget(name: "BGPSpeakerTests", dependencies: ["BGPSpeaker", "BGPRIB", "BGPWire", "CtlCore", "Posix", "TestSupport"]),
        // Privileged: real BIRD 2, FRR and GoBGP in network namespaces against the built twill-bgpd.
        .testTarget(name: "InteropTests", dependencies: ["BGPSpeaker", "CtlCore", "TestSupport"]),
        .testTarget(name: "DataplaneTests", dependencies: ["Dataplane", "DataplaneTesting", "NetCore", "TestSupport"]),
        .testTarget(name: "DataplaneLinuxTests", dependencies: ["DataplaneLinux", "Dataplane", "TestSupport"]),
        .testTarget(name: "IPAMTests", dependencies: ["IPAM", "Datastore", "NodeModel", "NetCore", "CtlCore", "TestSupport"]),
        .testTarget(name: "CNITests", dependencies: ["CNIPlugin", "IPAM", "DataplaneLinux", "Datastore", "NodeModel", "NetCore", "TestSupport"]),
        .testTarget(name: "CalcTests", dependencies: ["Calc", "NodeModel", "NetCore", "TestSupport"],
                    exclude: ["Golden"]),
        .testTarget(name: "ArchitectureTests", dependencies: ["TestSupport"]),
        .testTarget(name: "TwillBenchTests", dependencies: ["twill-bench", "BGPSpeaker", "BGPWire", "NetCore"]),
        .testTarget(name: "NodeAgentCoreTests", dependencies: ["NodeAgentCore", "Calc", "Dataplane", "NodeModel", "NetCore", "TestSupport"]),
        .testTarget(name: "NodeAgentTests", dependencies: ["NodeAgent", "NodeAgentCore", "BGPSpeaker", "BGPRIB", "BGPWire", "Datastore", "ResourceClient", "NodeModel", "NetCore", "Posix", "CtlCore", "TestSupport"]),

        // MARK: etcd datastore and the Helm chart (own target: the HTTP/TLS client stays out of
        // the pure targets and the speaker; executables open etcd through openAnyDatastore)
        .target(name: "DatastoreEtcd", dependencies: ["Datastore", "COpenSSL"]),
        .testTarget(name: "DatastoreEtcdTests", dependencies: [
            "DatastoreEtcd", "Datastore", "DatastoreConformance", "TestSupport",
        ]),
        .testTarget(name: "ChartTests", dependencies: [
            "DatastoreEtcd", "TestSupport", .product(name: "Yams", package: "Yams"),
        ]),
    ]
)

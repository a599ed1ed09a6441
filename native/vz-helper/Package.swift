// swift-tools-version:5.9
// vz-helper: Vivarium's macOS helper (Virtualization.framework), split so that everything but the
// framework calls builds and is tested on Linux too.
//   VZHelperCore       — protocol types, spec validation, state machine, framing, channel bridge (Foundation only)
//   vz-helper          — the executable; Virtualization backend (macOS) + main loop
//   VirtualizationShim — Linux only: declarations of the Virtualization API the backend uses, so the
//                        backend type-checks on Linux. Never built on macOS, never shipped.
import PackageDescription

let targets: [Target] = [
    .target(name: "VZHelperCore", path: "Sources/VZHelperCore"),
    .executableTarget(
        name: "vz-helper",
        dependencies: [
            "VZHelperCore",
            .target(name: "VirtualizationShim", condition: .when(platforms: [.linux])),
        ],
        path: "Sources/vz-helper",
        linkerSettings: [.linkedFramework("Virtualization", .when(platforms: [.macOS]))]
    ),
    // Every file of the shim is wrapped in `#if os(Linux)`: on macOS this module is empty and unused.
    .target(name: "VirtualizationShim", path: "Sources/VirtualizationShim"),
    .testTarget(
        name: "VZHelperCoreTests",
        dependencies: ["VZHelperCore"],
        path: "Tests/VZHelperCoreTests",
        exclude: ["Transcripts"]   // read from disk by path, like native/protocol/fixtures
    ),
]

let package = Package(
    name: "vz-helper",
    platforms: [.macOS(.v12)],   // virtiofs sharing and VZVirtualMachine.stop(completionHandler:) need macOS 12
    products: [.executable(name: "vz-helper", targets: ["vz-helper"])],
    targets: targets
)

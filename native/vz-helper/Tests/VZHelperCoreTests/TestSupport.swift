import Foundation
@testable import VZHelperCore

/// A scratch directory under /tmp (short, so unix socket paths fit), removed by `remove()`.
final class ScratchDir {
    let path: String
    init() throws {
        var template = Array("/tmp/vzt-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw HelperError(.internal, "mkdtemp failed") }
        path = String(cString: made)
    }
    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = "\(path)/\(name)"
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }
    func dir(_ name: String) throws -> String {
        let p = "\(path)/\(name)"
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Bytes of a minimal arm64 Image header: "ARM\x64" at 0x38.
func fakeArm64Image() -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: 64)
    bytes.replaceSubrange(0x38..<0x3C, with: [0x41, 0x52, 0x4D, 0x64])
    return bytes
}

/// Features like the VZ helper's on an arm64 Mac.
func vzLikeFeatures(arch: String = "arm64") -> Features {
    Features(accelerators: ["vz"], guestArchs: [arch], shareKinds: ["virtiofs"], readOnlyShares: true,
             channelKinds: ["vsock"], consoleLog: true, snapshots: false, maxCpus: 4, maxMemoryMiB: 8192,
             diskFormats: ["raw"], readOnlyDisks: true, dataChannels: 4)
}

func vzLikeHost(arch: String = "arm64") -> HostProfile {
    HostProfile(hostArch: arch, features: vzLikeFeatures(arch: arch), requiresUncompressedArm64Kernel: true)
}

/// A complete, valid set of `start` params pointing into `scratch`.
func goodStartParams(_ scratch: ScratchDir) throws -> [String: JSONValue] {
    let kernel = try scratch.file("Image", fakeArm64Image())
    let initrd = try scratch.file("initrd.img", [0x30, 0x37, 0x30, 0x37])
    let share = try scratch.dir("share")
    return [
        "name": "ws-1", "arch": "arm64", "kernel": .string(kernel), "initrd": .string(initrd),
        "cmdline": "quiet panic=-1", "cpus": 2, "memoryMiB": 512,
        "shares": [["tag": "workspace", "hostPath": .string(share), "readOnly": true]],
        "channelPath": .string("\(scratch.path)/ssh.sock"), "consoleLog": .string("\(scratch.path)/console.log"),
    ]
}

/// Collects emitted messages; waits for a predicate with a generous deadline (shared CI cores).
final class MessageLog {
    private let lock = NSLock()
    private var items: [JSONValue] = []
    func append(_ m: JSONValue) { lock.lock(); items.append(m); lock.unlock() }
    var all: [JSONValue] { lock.lock(); defer { lock.unlock() }; return items }

    @discardableResult
    func wait(timeout: TimeInterval = 20, until done: ([JSONValue]) -> Bool) -> [JSONValue] {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            let snapshot = all
            if done(snapshot) { return snapshot }
            usleep(2_000)
        }
        return all
    }

    /// Waits for the reply to `id` and returns it.
    func reply(_ id: Int64, timeout: TimeInterval = 20) -> JSONValue? {
        wait(timeout: timeout) { $0.contains { $0["id"] == .int(id) } }.first { $0["id"] == .int(id) }
    }
}

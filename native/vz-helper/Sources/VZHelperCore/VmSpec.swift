import Foundation

/// One folder shared with the guest, mounted by `tag`.
public struct ShareSpec: Codable, Equatable, Sendable {
    public var tag: String
    public var hostPath: String
    public var readOnly: Bool
    public init(tag: String, hostPath: String, readOnly: Bool) {
        self.tag = tag
        self.hostPath = hostPath
        self.readOnly = readOnly
    }
}

/// A validated `start` request (PROTOCOL.md §5.2), defaults filled in.
public struct VmSpec: Codable, Equatable, Sendable {
    public var name: String
    public var arch: String
    public var kernel: String
    public var initrd: String
    public var cmdline: String
    public var cpus: Int
    public var memoryMiB: Int
    public var shares: [ShareSpec]
    public var shareKind: String
    public var channelKind: String
    public var channelPath: String
    public var guestPort: UInt32
    public var consoleLog: String
}

/// What the validator needs to know about the host and backend.
public struct HostProfile: Sendable {
    public var hostArch: String
    public var features: Features
    /// VZLinuxBootLoader does not decompress: an arm64 kernel must be a raw `Image`.
    public var requiresUncompressedArm64Kernel: Bool
    public init(hostArch: String, features: Features, requiresUncompressedArm64Kernel: Bool) {
        self.hostArch = hostArch
        self.features = features
        self.requiresUncompressedArm64Kernel = requiresUncompressedArm64Kernel
    }
}

/// Limits from PROTOCOL.md §5.2.
public enum SpecLimits {
    public static let maxCmdlineBytes = 2048
    public static let minMemoryMiB = 128
    public static let maxShares = 8
    public static let maxChannelPathBytes = 100
    public static let maxStopTimeoutMs = 600_000
}

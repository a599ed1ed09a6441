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

/// One block device (PROTOCOL.md §5.2.1); the guest sees the disks in array order (vda, vdb…).
public struct DiskSpec: Codable, Equatable, Sendable {
    public var id: String
    public var hostPath: String
    public var readOnly: Bool
    public var format: String
    public init(id: String, hostPath: String, readOnly: Bool, format: String) {
        self.id = id
        self.hostPath = hostPath
        self.readOnly = readOnly
        self.format = format
    }
}

/// One byte-stream channel beside the SSH channel (PROTOCOL.md §5.2.2): host endpoint `path`,
/// bridged to the guest's vsock `guestPort`.
public struct DataChannelSpec: Codable, Equatable, Sendable {
    public var name: String
    public var path: String
    public var guestPort: UInt32
    public init(name: String, path: String, guestPort: UInt32) {
        self.name = name
        self.path = path
        self.guestPort = guestPort
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
    public var disks: [DiskSpec] = []
    public var dataChannels: [DataChannelSpec] = []
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
    public static let maxDisks = 4
    public static let maxDataChannels = 4
    /// Data-channel guest ports: 1 … 2^32 − 2 (VMADDR_PORT_ANY, 2^32 − 1, is never a listener).
    public static let maxDataChannelPort: Int64 = 4_294_967_294
}

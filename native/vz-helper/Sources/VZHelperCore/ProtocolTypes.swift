import Foundation

/// Protocol versions this helper speaks (PROTOCOL.md §5.1).
public let supportedProtocolVersions: [Int64] = [1]

/// VM states as the protocol names them (PROTOCOL.md §5.4).
public enum VmState: String, Codable, Sendable {
    case stopped, starting, running, stopping
}

/// Why a VM ended; a closed set (PROTOCOL.md §6).
public enum ExitReason: String, Codable, Sendable {
    case poweroff, stopped, forced, crashed
}

/// `hello.features`: capabilities as data; main branches on these, never on the helper's name.
public struct Features: Codable, Equatable, Sendable {
    public var accelerators: [String]
    public var guestArchs: [String]
    public var shareKinds: [String]
    public var readOnlyShares: Bool
    public var channelKinds: [String]
    public var consoleLog: Bool
    public var snapshots: Bool
    public var maxCpus: Int
    public var maxMemoryMiB: Int
    /// `disks[].format` values `start` accepts, best first; `[]` = no disks.
    public var diskFormats: [String]
    /// The host enforces `disks[].readOnly`.
    public var readOnlyDisks: Bool
    /// How many `dataChannels` `start` accepts (0 … 4).
    public var dataChannels: Int

    public init(accelerators: [String], guestArchs: [String], shareKinds: [String], readOnlyShares: Bool,
                channelKinds: [String], consoleLog: Bool, snapshots: Bool, maxCpus: Int, maxMemoryMiB: Int,
                diskFormats: [String], readOnlyDisks: Bool, dataChannels: Int) {
        self.accelerators = accelerators
        self.guestArchs = guestArchs
        self.shareKinds = shareKinds
        self.readOnlyShares = readOnlyShares
        self.channelKinds = channelKinds
        self.consoleLog = consoleLog
        self.snapshots = snapshots
        self.maxCpus = maxCpus
        self.maxMemoryMiB = maxMemoryMiB
        self.diskFormats = diskFormats
        self.readOnlyDisks = readOnlyDisks
        self.dataChannels = dataChannels
    }
}

/// The `hello` result. `unavailableReason` is always present (null when available).
public struct HelloResult: Codable, Equatable, Sendable {
    public var `protocol`: Int
    public var helper: String
    public var version: String
    public var hostArch: String
    public var available: Bool
    public var unavailableReason: String?
    public var features: Features

    public init(helper: String, version: String, hostArch: String, available: Bool,
                unavailableReason: String?, features: Features) {
        self.protocol = 1
        self.helper = helper
        self.version = version
        self.hostArch = hostArch
        self.available = available
        self.unavailableReason = unavailableReason
        self.features = features
    }

    enum CodingKeys: String, CodingKey {
        case `protocol`, helper, version, hostArch, available, unavailableReason, features
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(self.protocol, forKey: .protocol)
        try c.encode(helper, forKey: .helper)
        try c.encode(version, forKey: .version)
        try c.encode(hostArch, forKey: .hostArch)
        try c.encode(available, forKey: .available)
        try c.encode(unavailableReason, forKey: .unavailableReason)   // explicit null, as PROTOCOL.md shows
        try c.encode(features, forKey: .features)
    }
}

/// The agent-channel endpoint: `{kind, path}`.
public struct ChannelInfo: Codable, Equatable, Sendable {
    public var kind: String
    public var path: String
    public init(kind: String, path: String) { self.kind = kind; self.path = path }
}

/// A data channel's endpoint in the `start` result: `{name, kind, path}`.
public struct DataChannelInfo: Codable, Equatable, Sendable {
    public var name: String
    public var kind: String
    public var path: String
    public init(name: String, kind: String, path: String) { self.name = name; self.kind = kind; self.path = path }
}

/// The `start` result. `pid` is omitted when there is no hypervisor process (always, on VZ);
/// `dataChannels` is omitted when none were asked for (PROTOCOL.md §5.2).
public struct StartResult: Codable, Equatable, Sendable {
    public var state: VmState
    public var accelerator: String
    public var channel: ChannelInfo
    public var pid: Int?
    public var dataChannels: [DataChannelInfo]?
}

/// The `stop` result.
public struct StopResult: Codable, Equatable, Sendable {
    public var state: VmState
    public var forced: Bool
}

/// The `status` result; members other than `state` only while a VM exists.
public struct StatusResult: Codable, Equatable, Sendable {
    public var state: VmState
    public var accelerator: String?
    public var pid: Int?
    public var uptimeMs: Int?
}

/// The `exit` event's payload. `exitCode` is always present (null when there is none).
public struct VMExit: Equatable, Sendable {
    public var reason: ExitReason
    public var exitCode: Int?
    public var message: String
    public init(reason: ExitReason, exitCode: Int? = nil, message: String) {
        self.reason = reason
        self.exitCode = exitCode
        self.message = message
    }
}

/// Builders for the three event shapes (PROTOCOL.md §6).
public enum Event {
    public static func state(_ s: VmState) -> JSONValue { ["event": "state", "state": .string(s.rawValue)] }
    public static func channel(_ c: ChannelInfo) -> JSONValue {
        ["event": "channel", "kind": .string(c.kind), "path": .string(c.path)]
    }
    public static func exit(_ e: VMExit) -> JSONValue {
        ["event": "exit", "reason": .string(e.reason.rawValue),
         "exitCode": e.exitCode.map { .int(Int64($0)) } ?? .null, "message": .string(e.message)]
    }
}

/// Builders for reply envelopes. A nil id is written as `"id": null`.
public enum Reply {
    public static func success(id: Int64?, _ result: JSONValue) -> JSONValue {
        ["id": id.map { .int($0) } ?? .null, "result": result]
    }
    public static func failure(id: Int64?, _ error: HelperError) -> JSONValue {
        ["id": id.map { .int($0) } ?? .null, "error": error.json]
    }
    /// Encodes a result struct; the result types above always encode.
    public static func success<T: Encodable>(id: Int64?, encoding result: T) -> JSONValue {
        let value = (try? JSONValue(encoding: result)) ?? .object([:])
        return success(id: id, value)
    }
}

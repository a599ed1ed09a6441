import Foundation

/// What a backend reports once it has a running VM.
public struct StartedVM: Equatable, Sendable {
    public var accelerator: String
    public var channel: ChannelInfo
    public var pid: Int?
    /// The data channels' endpoints, in spec order (empty when none were asked for).
    public var dataChannels: [DataChannelInfo]
    public init(accelerator: String, channel: ChannelInfo, pid: Int? = nil, dataChannels: [DataChannelInfo] = []) {
        self.accelerator = accelerator
        self.channel = channel
        self.pid = pid
        self.dataChannels = dataChannels
    }
}

/// How a stop ended. `hadVM` is false when there was nothing to stop.
public struct StopOutcome: Equatable, Sendable {
    public var forced: Bool
    public var hadVM: Bool
    public init(forced: Bool, hadVM: Bool) { self.forced = forced; self.hadVM = hadVM }
}

/// What `hello` reports about this host and backend.
public struct BackendDescription: Sendable {
    public var helper: String
    public var version: String
    public var available: Bool
    public var unavailableReason: String?
    public var host: HostProfile
    public init(helper: String, version: String, available: Bool, unavailableReason: String?, host: HostProfile) {
        self.helper = helper
        self.version = version
        self.available = available
        self.unavailableReason = unavailableReason
        self.host = host
    }
}

/// One hypervisor driving at most one VM. The Session owns the protocol; a backend only runs VMs.
///
/// Contracts (the Session relies on them):
/// - `start` is called only when no VM exists. It MUST call `completion` exactly once; on failure it
///   MUST have removed everything it created (channel endpoints, VM). On success the channel
///   endpoint and every data-channel endpoint exist, are mode 0600 and accept connections.
/// - `stop` MAY be called while a `start` is in flight: the backend then aborts the start, calls the
///   start's completion (with any error) BEFORE the stop's completion, and leaves no VM behind.
/// - `stop` MUST call `completion` exactly once, after the VM has fully exited and the channel
///   endpoint is removed. `force: false` asks the guest, waits up to `timeoutMs`, then forces.
/// - `onUnexpectedExit` is called when a running VM ends by itself (guest poweroff, crash), never
///   for an exit caused by `stop`, and only after the endpoint is removed.
/// - Completions and callbacks may run on any thread.
public protocol VMBackend: AnyObject {
    func describe() -> BackendDescription
    func start(_ spec: VmSpec, completion: @escaping (Result<StartedVM, HelperError>) -> Void)
    func stop(force: Bool, timeoutMs: Int, completion: @escaping (StopOutcome) -> Void)
    var onUnexpectedExit: ((VMExit) -> Void)? { get set }
}

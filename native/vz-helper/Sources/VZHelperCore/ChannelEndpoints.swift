import Foundation

/// The host endpoints of one VM: the SSH channel's and every data channel's (PROTOCOL.md
/// §5.2.2), each a `ChannelBridge` whose clients are bridged to their own guest vsock port.
///
/// Contracts: `open` creates them in the order given; if one fails, those already created are
/// closed (nothing is left at their paths) before the error is rethrown, named by the member
/// that failed. `closeAll` removes every endpoint and ends their connections; it is idempotent.
public final class ChannelEndpoints {
    /// One endpoint to create: the spec member it comes from (for errors and logs), its path and
    /// the guest port its clients reach.
    public struct Endpoint: Equatable, Sendable {
        public var member: String
        public var path: String
        public var guestPort: UInt32
        public init(member: String, path: String, guestPort: UInt32) {
            self.member = member
            self.path = path
            self.guestPort = guestPort
        }
    }

    /// Opens one guest connection to `port` per client (see ChannelBridge.Dial).
    public typealias Dial = (_ port: UInt32, _ completion: @escaping (Result<Int32, HelperError>) -> Void) -> Void

    private var bridges: [ChannelBridge] = []
    private let log: (String) -> Void

    public init(log: @escaping (String) -> Void = { _ in }) { self.log = log }

    /// The SSH channel (`channelPath`, `guestPort`) first, then the data channels in spec order.
    public static func forSpec(_ spec: VmSpec) -> [Endpoint] {
        [Endpoint(member: "channelPath", path: spec.channelPath, guestPort: spec.guestPort)]
            + spec.dataChannels.enumerated().map { i, c in Endpoint(member: "dataChannels[\(i)].path", path: c.path, guestPort: c.guestPort) }
    }

    /// Creates every endpoint (0600 unix sockets that accept at once); all or nothing.
    public func open(_ endpoints: [Endpoint], dial: @escaping Dial) throws {
        for e in endpoints {
            let log = self.log
            let bridge = ChannelBridge(path: e.path, log: { log("\(e.member): \($0)") }) { done in dial(e.guestPort, done) }
            do {
                try bridge.open()
            } catch {
                closeAll()
                throw Self.renamed(error, to: e.member)
            }
            bridges.append(bridge)
        }
    }

    /// Removes every endpoint and ends its connections.
    public func closeAll() {
        bridges.forEach { $0.close() }
        bridges = []
    }

    /// Paths of the endpoints currently open (tests).
    public var openPaths: [String] { bridges.map(\.path) }

    /// The socket layer words its errors for `channelPath`; name the member that really failed.
    private static func renamed(_ error: Error, to member: String) -> HelperError {
        guard var e = error as? HelperError else { return HelperError(.internal, "\(member): \(error)") }
        if e.message.hasPrefix("channelPath") { e.message = member + e.message.dropFirst("channelPath".count) }
        return e
    }
}

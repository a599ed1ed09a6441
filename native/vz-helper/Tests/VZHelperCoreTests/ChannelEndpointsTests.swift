import XCTest
@testable import VZHelperCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The SSH and data-channel endpoints of one VM, with real unix sockets: each reaches its own
/// guest port, a failure part-way leaves nothing behind, and closing removes them all.
final class ChannelEndpointsTests: XCTestCase {
    private var scratch: ScratchDir!
    override func setUpWithError() throws { scratch = try ScratchDir() }
    override func tearDown() { scratch.remove() }

    /// A "guest" for one connection: writes `reply`, then closes. Returns the host end.
    private func guest(saying reply: String) throws -> Int32 {
        let (host, guest) = try UnixSocket.pair()
        UnixSocket.writeAll(guest, Data(reply.utf8))
        close(guest)
        return host
    }

    private func readAll(_ fd: Int32) -> String {
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 1024)
        while true {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    func testTheSpecGivesTheSSHChannelFirstThenTheDataChannelsInOrder() throws {
        var spec = try VmSpecValidator(host: vzLikeHost()).validate(try goodStartParams(scratch))
        spec.dataChannels = [DataChannelSpec(name: "egress", path: "/r/e.sock", guestPort: 68664),
                             DataChannelSpec(name: "logs", path: "/r/l.sock", guestPort: 7)]
        XCTAssertEqual(ChannelEndpoints.forSpec(spec), [
            .init(member: "channelPath", path: spec.channelPath, guestPort: 22),
            .init(member: "dataChannels[0].path", path: "/r/e.sock", guestPort: 68664),
            .init(member: "dataChannels[1].path", path: "/r/l.sock", guestPort: 7),
        ])
    }

    func testEachEndpointReachesItsOwnGuestPortAndIsUserOnly() throws {
        let endpoints = ChannelEndpoints()
        let list: [ChannelEndpoints.Endpoint] = [.init(member: "channelPath", path: "\(scratch.path)/ssh.sock", guestPort: 22),
                                                 .init(member: "dataChannels[0].path", path: "\(scratch.path)/egress.sock", guestPort: 68664)]
        try endpoints.open(list) { port, done in
            do { done(.success(try self.guest(saying: "port \(port)"))) } catch { done(.failure(error as! HelperError)) }
        }
        for e in list {
            var st = stat()
            XCTAssertEqual(lstat(e.path, &st), 0)
            XCTAssertEqual(st.st_mode & 0o777, 0o600, "\(e.member) must be user-only")
            let client = try UnixSocket.connect(to: e.path)
            XCTAssertEqual(readAll(client), "port \(e.guestPort)")
            close(client)
        }
        endpoints.closeAll()
        XCTAssertFalse(list.contains { exists($0.path) }, "closeAll removes every endpoint")
        XCTAssertEqual(endpoints.openPaths, [])
        endpoints.closeAll()   // idempotent
    }

    func testAFailurePartWayRemovesTheEndpointsAlreadyMadeAndNamesTheMember() throws {
        let endpoints = ChannelEndpoints()
        let ssh = "\(scratch.path)/ssh.sock"
        let taken = try scratch.file("egress.sock", [0x78])   // something is already at the data channel's path
        XCTAssertThrowsError(try endpoints.open([.init(member: "channelPath", path: ssh, guestPort: 22),
                                                 .init(member: "dataChannels[0].path", path: taken, guestPort: 68664)]) { _, done in
            done(.failure(HelperError(.internal, "never dialled")))
        }) { error in
            let e = error as? HelperError
            XCTAssertTrue(e?.message.hasPrefix("dataChannels[0].path") == true, "\(String(describing: e))")
        }
        XCTAssertFalse(exists(ssh), "the SSH endpoint made before the failure is removed")
        XCTAssertTrue(exists(taken), "what was there before is not touched")
        XCTAssertEqual(endpoints.openPaths, [])
    }
}

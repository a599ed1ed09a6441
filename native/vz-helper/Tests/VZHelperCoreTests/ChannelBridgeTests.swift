import XCTest
@testable import VZHelperCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bridge with a real "guest" end: each dial hands out one end of a socketpair whose other
/// end is served by a thread that upper-cases what it reads, then half-closes.
final class ChannelBridgeTests: XCTestCase {
    private var scratch: ScratchDir!
    override func setUpWithError() throws { scratch = try ScratchDir() }
    override func tearDown() { scratch.remove() }

    private func upperCasingGuest() throws -> Int32 {
        let (host, guest) = try UnixSocket.pair()
        Thread {
            var buf = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(guest, &buf, buf.count)
                if n <= 0 { break }
                let upper = buf[0..<n].map { (0x61...0x7A).contains($0) ? $0 - 32 : $0 }
                upper.withUnsafeBytes { _ = UnixSocket.writeAll(guest, $0) }
            }
            shutdown(guest, Int32(SHUT_WR))
            close(guest)
        }.start()
        return host
    }

    private func readAll(_ fd: Int32) -> String {
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    func testSocketIsUserOnlyAndBytesFlowBothWaysWithHalfClose() throws {
        let path = "\(scratch.path)/ssh.sock"
        let bridge = ChannelBridge(path: path) { done in
            do { done(.success(try self.upperCasingGuest())) } catch { done(.failure(error as! HelperError)) }
        }
        try bridge.open()
        var st = stat()
        XCTAssertEqual(lstat(path, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFSOCK)
        XCTAssertEqual(st.st_mode & 0o777, 0o600, "the channel endpoint must be readable and writable by the user only")

        for message in ["hello guest", String(repeating: "abc", count: 100_000)] {   // the second spans many reads
            let client = try UnixSocket.connect(to: path)
            UnixSocket.writeAll(client, Data(message.utf8))
            shutdown(client, Int32(SHUT_WR))              // half-close: the reply must still arrive
            XCTAssertEqual(readAll(client), message.uppercased())
            close(client)
        }
        bridge.close()
        XCTAssertNotEqual(lstat(path, &st), 0, "close() removes the socket file")
        XCTAssertThrowsError(try UnixSocket.connect(to: path))
    }

    func testClientIsClosedWhenTheGuestCannotBeReached() throws {
        let path = "\(scratch.path)/ssh.sock"
        let bridge = ChannelBridge(path: path) { done in done(.failure(HelperError(.timeout, "guest port did not accept"))) }
        try bridge.open()
        defer { bridge.close() }
        let client = try UnixSocket.connect(to: path)
        XCTAssertEqual(readAll(client), "", "the client sees EOF")
        close(client)
    }

    func testCloseEndsLiveConnections() throws {
        let path = "\(scratch.path)/ssh.sock"
        let bridge = ChannelBridge(path: path) { done in done(.success(try! self.upperCasingGuest())) }
        try bridge.open()
        let client = try UnixSocket.connect(to: path)
        UnixSocket.writeAll(client, Data("x".utf8))
        var one = [UInt8](repeating: 0, count: 1)
        XCTAssertEqual(read(client, &one, 1), 1)
        bridge.close()
        XCTAssertEqual(readAll(client), "", "a live connection ends when the bridge closes")
        close(client)
        let end = Date().addingTimeInterval(10)
        while bridge.activeConnections > 0 && Date() < end { usleep(5_000) }
        XCTAssertEqual(bridge.activeConnections, 0)
    }

    func testOpenRefusesAnOccupiedPathAndLeavesItAlone() throws {
        let path = try scratch.file("taken", [1, 2, 3])
        let bridge = ChannelBridge(path: path) { done in done(.failure(HelperError(.internal, "unused"))) }
        XCTAssertThrowsError(try bridge.open()) { XCTAssertEqual(($0 as? HelperError)?.code, .invalidArgument) }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data([1, 2, 3]))
    }

    func testDialerRetriesUntilTheGuestListensAndClosesLateConnections() throws {
        let attempts = MessageLog()
        let lateFDs = MessageLog()
        let dialer = GuestDialer(deadline: 20, attemptTimeout: 0.2, retryInterval: 0.01) { done in
            attempts.append(.null)
            let n = attempts.all.count
            if n < 3 { return done(.failure(HelperError(.internal, "connection refused"))) }
            if n == 3 {   // never answers in time: its connection arrives late and must be closed
                DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) {
                    let (a, b) = try! UnixSocket.pair()
                    lateFDs.append(.int(Int64(b)))
                    done(.success(a))
                }
                return
            }
            let (a, b) = try! UnixSocket.pair()
            close(b)
            done(.success(a))
        }
        let result = expectation(description: "dialed")
        var got: Result<Int32, HelperError>?
        dialer.dial { got = $0; result.fulfill() }
        wait(for: [result], timeout: 20)
        guard case .success(let fd)? = got else { return XCTFail("dial failed: \(String(describing: got))") }
        close(fd)
        XCTAssertEqual(attempts.all.count, 4)
        let late = lateFDs.wait { $0.count == 1 }
        guard let peer = late.first?.integerValue.map(Int32.init) else { return XCTFail("late connection never came") }
        var byte = [UInt8](repeating: 0, count: 1)
        let end = Date().addingTimeInterval(10)
        var n = -1
        while Date() < end { n = read(peer, &byte, 1); if n == 0 { break }; usleep(5_000) }
        XCTAssertEqual(n, 0, "the late connection was closed by the dialer")
        close(peer)
    }

    func testDialerGivesUpWithTimeoutNamingTheLastError() {
        let dialer = GuestDialer(deadline: 0.3, attemptTimeout: 0.1, retryInterval: 0.02) { done in
            done(.failure(HelperError(.internal, "VZErrorDomain 1: connection refused")))
        }
        let finished = expectation(description: "gave up")
        dialer.dial { result in
            if case .failure(let e) = result {
                XCTAssertEqual(e.code, .timeout)
                XCTAssertTrue(e.message.contains("connection refused"), e.message)
            } else { XCTFail("should not connect") }
            finished.fulfill()
        }
        wait(for: [finished], timeout: 20)
    }

    func testDialerStopsAtOnceWhenTheVMIsGone() {
        let attempts = MessageLog()
        let dialer = GuestDialer(deadline: 20, attemptTimeout: 1, retryInterval: 0.01) { done in
            attempts.append(.null)
            done(.failure(HelperError(.invalidState, "no running VM to connect to")))
        }
        let finished = expectation(description: "gave up")
        dialer.dial { result in
            if case .failure(let e) = result { XCTAssertEqual(e.code, .invalidState) } else { XCTFail("should not connect") }
            finished.fulfill()
        }
        wait(for: [finished], timeout: 10)
        XCTAssertEqual(attempts.all.count, 1)
    }
}

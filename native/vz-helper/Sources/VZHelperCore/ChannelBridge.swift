import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The agent channel's host end: a 0600 unix socket at `path`; each accepted client gets its own
/// stream to the guest port (from `dial`) and the two are spliced. Node cannot open vsock, so
/// this is how main's ssh2 reaches the guest (BACKENDS.md §1.3).
///
/// Contracts: after `open()` returns, the socket exists with mode 0600 and accepts connections.
/// After `close()` returns, nothing is left at `path`, no new client is accepted, and every
/// spliced connection has been told to end. A client whose dial fails is closed at once.
public final class ChannelBridge {
    public typealias Dial = (_ completion: @escaping (Result<Int32, HelperError>) -> Void) -> Void

    public let path: String
    private let dial: Dial
    private let log: (String) -> Void
    private let lock = NSLock()
    private var listenFD: Int32 = -1
    private var wakePipe: [Int32] = [-1, -1]
    private var splices: [ObjectIdentifier: ByteSplice] = [:]
    private var isClosed = false
    private let acceptDone = DispatchSemaphore(value: 0)

    /// `dial` opens one stream to the guest per accepted client; `log` receives human-readable lines.
    public init(path: String, log: @escaping (String) -> Void = { _ in }, dial: @escaping Dial) {
        self.path = path
        self.dial = dial
        self.log = log
    }

    /// Creates the socket and starts accepting. On failure nothing is left at `path`.
    public func open() throws {
        UnixSocket.ignoreSIGPIPE()
        guard pipe(&wakePipe) == 0 else { throw HelperError.posix(.internal, "channel bridge", syscall: "pipe", errno: errno) }
        do {
            listenFD = try UnixSocket.listen(at: path)
        } catch {
            posixClose(wakePipe[0]); posixClose(wakePipe[1])
            throw error
        }
        let t = Thread { [self] in acceptLoop() }
        t.name = "vz-helper.accept"
        t.start()
    }

    /// Stops accepting, removes the socket file and ends every open connection. Idempotent.
    public func close() {
        lock.lock()
        if isClosed || listenFD < 0 { isClosed = true; lock.unlock(); return }
        isClosed = true
        let active = Array(splices.values)
        lock.unlock()
        var one: UInt8 = 1
        _ = write(wakePipe[1], &one, 1)
        acceptDone.wait()                     // the accept thread has closed the listener
        unlink(path)
        active.forEach { $0.abort() }
    }

    private func acceptLoop() {
        defer {
            posixClose(listenFD)
            posixClose(wakePipe[0])
            posixClose(wakePipe[1])
            acceptDone.signal()
        }
        while true {
            var fds = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wakePipe[0], events: Int16(POLLIN), revents: 0)]
            let rc = poll(&fds, 2, -1)
            if rc < 0 && errno == EINTR { continue }
            if rc < 0 || fds[1].revents != 0 { return }
            guard fds[0].revents != 0 else { continue }
            let client = accept(listenFD, nil, nil)
            if client < 0 { if errno == EINTR || errno == ECONNABORTED || errno == EAGAIN { continue } else { return } }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            connect(client)
        }
    }

    private func connect(_ client: Int32) {
        dial { [self] result in
            switch result {
            case .failure(let error):
                log("channel: could not reach the guest: \(error.message)")
                posixClose(client)
            case .success(let guest):
                lock.lock()
                if isClosed {
                    lock.unlock()
                    posixClose(client)
                    posixClose(guest)
                    return
                }
                var key: ObjectIdentifier?
                let splice = ByteSplice(client, guest) { [weak self] in
                    guard let self, let key else { return }
                    self.lock.lock(); self.splices[key] = nil; self.lock.unlock()
                }
                key = ObjectIdentifier(splice)
                splices[key!] = splice
                lock.unlock()
                splice.start()
            }
        }
    }

    /// Number of live spliced connections (tests).
    public var activeConnections: Int {
        lock.lock(); defer { lock.unlock() }
        return splices.count
    }
}

@inline(__always) private func posixClose(_ fd: Int32) { _ = close(fd) }

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Copies bytes both ways between two connected stream sockets until both directions end,
/// then closes both. EOF on one side is passed on as a half-close (`shutdown(SHUT_WR)`) of the
/// other, so protocols that half-close (SSH does on exit) keep working. One thread per
/// direction: blocking I/O keeps this simple and each bridge carries one SSH connection.
public final class ByteSplice {
    private let a: Int32
    private let b: Int32
    private let lock = NSLock()
    private var directionsLeft = 2
    private var closed = false
    private let onClose: () -> Void

    /// Takes ownership of both fds. `onClose` runs once, after both are closed.
    public init(_ a: Int32, _ b: Int32, onClose: @escaping () -> Void = {}) {
        self.a = a
        self.b = b
        self.onClose = onClose
    }

    /// Starts both copying threads; call once.
    public func start() {
        for (from, to) in [(a, b), (b, a)] {
            let t = Thread { [self] in pump(from: from, to: to) }
            t.name = "vz-helper.splice"
            t.start()
        }
    }

    /// Ends both directions now (helper shutdown): blocked reads return and the fds close.
    public func abort() {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        shutdown(a, Int32(SHUT_RDWR))
        shutdown(b, Int32(SHUT_RDWR))
    }

    private func pump(from: Int32, to: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            let ok = buffer.withUnsafeBytes { UnixSocket.writeAll(to, UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            if !ok {
                shutdown(from, Int32(SHUT_RD))   // the other side is gone: stop reading this one too
                break
            }
        }
        shutdown(to, Int32(SHUT_WR))
        lock.lock()
        directionsLeft -= 1
        let last = directionsLeft == 0
        if last { closed = true; close(a); close(b) }
        lock.unlock()
        if last { onClose() }
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin POSIX socket helpers shared by the channel bridge and its tests.
public enum UnixSocket {
    #if canImport(Glibc)
    static let streamType = Int32(SOCK_STREAM.rawValue)
    #else
    static let streamType = SOCK_STREAM
    #endif

    /// Writes to a peer that has gone away must fail with EPIPE, not kill the helper.
    public static func ignoreSIGPIPE() { signal(SIGPIPE, SIG_IGN) }

    /// Binds a listening unix socket at `path`, mode 0600 before it accepts anything
    /// (chmod between bind and listen: until listen, connects are refused).
    /// Throws `invalidArgument` when something exists at `path`, `internal` for other failures;
    /// on failure nothing is left at `path`.
    public static func listen(at path: String, backlog: Int32 = 16) throws -> Int32 {
        let fd = socket(AF_UNIX, streamType, 0)
        guard fd >= 0 else { throw HelperError.posix(.internal, "channelPath", syscall: "socket", errno: errno) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var addr = try address(path)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let err = errno
            close(fd)
            throw HelperError.posix(err == EADDRINUSE ? .invalidArgument : .internal, "channelPath \(path)", syscall: "bind", errno: err, path: path)
        }
        guard chmod(path, 0o600) == 0, posixListen(fd, backlog) == 0 else {
            let err = errno
            close(fd)
            unlink(path)
            throw HelperError.posix(.internal, "channelPath \(path)", syscall: "chmod/listen", errno: err, path: path)
        }
        return fd
    }

    /// Connects to the unix socket at `path` (tests and tools); returns the fd.
    public static func connect(to path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, streamType, 0)
        guard fd >= 0 else { throw HelperError.posix(.internal, "connect", syscall: "socket", errno: errno) }
        var addr = try address(path)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { posixConnect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let err = errno
            close(fd)
            throw HelperError.posix(.internal, "connect \(path)", syscall: "connect", errno: err, path: path)
        }
        return fd
    }

    /// A connected pair of stream sockets.
    public static func pair() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, streamType, 0, &fds) == 0 else {
            throw HelperError.posix(.internal, "socketpair", syscall: "socketpair", errno: errno)
        }
        return (fds[0], fds[1])
    }

    /// Writes all of `bytes`; false when the peer is gone or another error occurred.
    @discardableResult
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// Writes all of `data`; false on failure.
    @discardableResult
    public static func writeAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { writeAll(fd, $0) }
    }

    private static func address(_ path: String) throws -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else {
            throw HelperError(.invalidArgument, "channelPath: \(bytes.count) bytes is too long for a unix socket (limit \(capacity - 1))")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        #if canImport(Darwin)
        addr.sun_len = UInt8(MemoryLayout<sockaddr_un>.size)
        #endif
        return addr
    }
}

// The module-level `listen`/`connect` are shadowed inside `UnixSocket` by its own methods.
@inline(__always) private func posixListen(_ fd: Int32, _ backlog: Int32) -> Int32 { listen(fd, backlog) }
@inline(__always) private func posixConnect(_ fd: Int32, _ addr: UnsafePointer<sockaddr>, _ len: socklen_t) -> Int32 {
    connect(fd, addr, len)
}

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes protocol messages to a file descriptor, one line each, in call order.
public final class LineWriter {
    private let fd: Int32
    private let lock = NSLock()
    public init(fd: Int32) { self.fd = fd }

    /// Writes one message; a reader that has gone away is ignored (we are shutting down then).
    public func write(_ message: JSONValue) {
        var line = message.serialized()
        line.append(0x0A)
        lock.lock(); defer { lock.unlock() }
        UnixSocket.writeAll(fd, line)
    }
}

/// Human-readable logs on stderr (main copies them to the VM's log; never parsed).
public enum Log {
    public static func info(_ message: String) {
        FileHandle.standardError.write(Data("vz-helper: \(message)\n".utf8))
    }
}

/// The helper process: stdin → framer → Session → stdout, plus the exits PROTOCOL.md §1 asks
/// for: stdin EOF, SIGTERM, SIGINT and the death of the parent all force-stop the VM, clean up
/// and exit with status 0 within 5 seconds.
public enum HelperMain {
    /// Grace for the clean shutdown; past it the process exits anyway (the protocol allows 5 s).
    static let shutdownDeadline: TimeInterval = 4.5

    /// Runs the helper until stdin closes or a signal arrives; never returns (exits 0).
    public static func run(backend: VMBackend) -> Never {
        UnixSocket.ignoreSIGPIPE()
        let writer = LineWriter(fd: STDOUT_FILENO)
        let session = Session(backend: backend) { writer.write($0) }
        let once = NSLock()
        var shuttingDown = false
        let shutdown: (String) -> Void = { why in
            once.lock()
            defer { once.unlock() }
            guard !shuttingDown else { return }
            shuttingDown = true
            Log.info("\(why): stopping the VM (if any) and exiting")
            DispatchQueue.global().asyncAfter(deadline: .now() + shutdownDeadline) {
                Log.info("shutdown took longer than \(shutdownDeadline) s; exiting anyway")
                exit(0)
            }
            session.shutdown { exit(0) }
        }

        SignalWatcher.start { sig in shutdown(sig == SIGTERM ? "SIGTERM" : "SIGINT") }
        ParentWatcher.start { shutdown("parent process exited") }

        let reader = Thread {
            var framer = LineFramer()
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress!, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                for input in framer.feed(Data(buffer[0..<n])) { session.receive(input) }
            }
            for input in framer.finish() { session.receive(input) }
            shutdown("stdin closed")
        }
        reader.name = "vz-helper.stdin"
        reader.start()
        dispatchMain()
    }
}

/// Write end of the self-pipe the signal handler writes to (set once, before the handler).
private var signalPipeWriteFD: Int32 = -1

/// Turns SIGTERM and SIGINT into a callback on a thread. A plain handler writing to a pipe is
/// installed synchronously, so a signal that arrives right after start-up is never lost (a
/// DispatchSource registers asynchronously on Linux and could miss it).
public enum SignalWatcher {
    /// Installs the handlers; `onSignal` runs on a dedicated thread, once per signal received.
    public static func start(_ onSignal: @escaping (Int32) -> Void) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return Log.info("cannot watch signals: pipe failed (errno \(errno))") }
        signalPipeWriteFD = fds[1]
        for sig in [SIGTERM, SIGINT] {
            signal(sig) { received in
                var byte = UInt8(truncatingIfNeeded: received)
                _ = write(signalPipeWriteFD, &byte, 1)   // async-signal-safe
            }
        }
        let readFD = fds[0]
        let t = Thread {
            var byte: UInt8 = 0
            while true {
                let n = read(readFD, &byte, 1)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                onSignal(Int32(byte))
            }
        }
        t.name = "vz-helper.signals"
        t.start()
    }
}

/// Notices the death of the parent process by polling `getppid()` (portable: macOS has no
/// PR_SET_PDEATHSIG; a re-parented process sees a different parent pid).
public enum ParentWatcher {
    /// Polls every `interval`; calls `onExit` once when the parent pid changes.
    public static func start(interval: TimeInterval = 1, onExit: @escaping () -> Void) {
        let original = getppid()
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler {
            if getppid() != original {
                timer.cancel()
                onExit()
            }
        }
        timer.resume()
    }
}

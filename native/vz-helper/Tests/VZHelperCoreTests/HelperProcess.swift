import Foundation
@testable import VZHelperCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The built vz-helper executable, run as main runs it: no arguments, protocol on stdio.
/// Located by $VZ_HELPER_EXECUTABLE (test.sh sets it), else beside the test bundle.
final class HelperProcess {
    static var executablePath: String? {
        if let p = ProcessInfo.processInfo.environment["VZ_HELPER_EXECUTABLE"], FileManager.default.isExecutableFile(atPath: p) { return p }
        let beside = Bundle(for: HelperProcess.self).bundleURL.deletingLastPathComponent().appendingPathComponent("vz-helper").path
        return FileManager.default.isExecutableFile(atPath: beside) ? beside : nil
    }

    let process = Process()
    private let stdin = Pipe()
    private let stdout = Pipe()
    private let stderr = Pipe()
    let messages = MessageLog()
    private var consumed = 0
    private let stderrLock = NSLock()
    private var stderrText = Data()

    init(path: String) throws {
        process.executableURL = URL(fileURLWithPath: path)
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let out = stdout.fileHandleForReading
        Thread { [messages] in
            var framer = LineFramer(maxLineBytes: 4 << 20)
            while true {
                let chunk = out.availableData
                if chunk.isEmpty { break }
                for case .line(let line) in framer.feed(chunk) {
                    messages.append((try? JSONValue.parse(line)) ?? .string("<unparsable: \(String(decoding: line, as: UTF8.self))>"))
                }
            }
        }.start()
        let err = stderr.fileHandleForReading
        Thread { [self] in
            while true {
                let chunk = err.availableData
                if chunk.isEmpty { break }
                stderrLock.lock(); stderrText.append(chunk); stderrLock.unlock()
            }
        }.start()
    }

    var stderrOutput: String { stderrLock.lock(); defer { stderrLock.unlock() }; return String(decoding: stderrText, as: UTF8.self) }

    func send(raw: Data) {
        stdin.fileHandleForWriting.write(raw)
    }

    func send(_ line: String) { send(raw: Data((line + "\n").utf8)) }

    /// The next message not yet consumed, waiting up to `timeout`.
    func next(timeout: TimeInterval = 20) -> JSONValue? {
        let all = messages.wait(timeout: timeout) { $0.count > self.consumed }
        guard all.count > consumed else { return nil }
        consumed += 1
        return all[consumed - 1]
    }

    func closeStdin() { try? stdin.fileHandleForWriting.close() }

    /// Waits for exit; returns the status, or nil if still running after `timeout`.
    func waitForExit(timeout: TimeInterval) -> Int32? {
        let end = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < end { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    func kill() { if process.isRunning { process.terminate() } }
}

import XCTest
@testable import VZHelperCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Process-level duties from PROTOCOL.md §1, checked on the built executable.
final class HelperProcessTests: XCTestCase {
    private func launch() throws -> HelperProcess {
        try HelperProcess(path: try XCTUnwrap(HelperProcess.executablePath, "build vz-helper first"))
    }

    private func hello(_ h: HelperProcess) -> JSONValue? {
        h.send(#"{"id":1,"method":"hello","params":{"protocol":1}}"#)
        return h.next()
    }

    func testStdinEOFExitsWithStatusZeroWithinFiveSeconds() throws {
        let h = try launch()
        defer { h.kill() }
        XCTAssertNotNil(hello(h)?["result"])
        h.closeStdin()
        XCTAssertEqual(h.waitForExit(timeout: 5), 0)
    }

    func testSIGTERMAndSIGINTBehaveLikeEOF() throws {
        for sig in [SIGTERM, SIGINT] {
            let h = try launch()
            defer { h.kill() }
            XCTAssertNotNil(hello(h)?["result"])
            kill(h.process.processIdentifier, sig)
            XCTAssertEqual(h.waitForExit(timeout: 5), 0, "signal \(sig)")
            XCTAssertTrue(h.stderrOutput.contains(sig == SIGTERM ? "SIGTERM" : "SIGINT"), h.stderrOutput)
        }
    }

    /// PROTOCOL.md §1: the helper SHOULD die with its parent. A shell starts the helper (stdin
    /// stays open: it is our pipe), prints its pid and is then killed; the helper must notice
    /// the new parent and exit.
    func testHelperExitsWhenItsParentDies() throws {
        let path = try XCTUnwrap(HelperProcess.executablePath)
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "\"$0\" & echo $!; wait", path]
        let stdin = Pipe(), stdout = Pipe()
        shell.standardInput = stdin
        shell.standardOutput = stdout
        try shell.run()
        defer { try? stdin.fileHandleForWriting.close() }
        var text = ""
        let end = Date().addingTimeInterval(10)
        while !text.contains("\n") && Date() < end { text += String(decoding: stdout.fileHandleForReading.availableData, as: UTF8.self) }
        let pid = try XCTUnwrap(pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), "no pid from: \(text)")
        XCTAssertTrue(Self.isAlive(pid))
        kill(shell.processIdentifier, SIGKILL)
        shell.waitUntilExit()
        let deadline = Date().addingTimeInterval(10)
        while Self.isAlive(pid) && Date() < deadline { usleep(20_000) }
        XCTAssertFalse(Self.isAlive(pid), "the helper outlived its parent")
        if Self.isAlive(pid) { kill(pid, SIGKILL) }
    }

    /// Running and not a zombie (an orphan is reaped by whoever adopted it, maybe later).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        #if os(Linux)
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            return !stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z")
        }
        #endif
        return true
    }

    /// On Linux the backend is compiled against the declaration shim: hello must say so and a
    /// valid start must be refused with hypervisorUnavailable, never reach the shim.
    func testLinuxBuildReportsTheHypervisorUnavailable() throws {
        #if os(Linux)
        let scratch = try ScratchDir()
        defer { scratch.remove() }
        let h = try launch()
        defer { h.kill() }
        let result = try XCTUnwrap(hello(h)?["result"])
        XCTAssertEqual(result["available"], false)
        XCTAssertEqual(result["unavailableReason"]?.stringValue?.contains("only on macOS"), true)
        var params = try goodStartParams(scratch)
        params["arch"] = .string(VZHostArch.current)
        // With a disk and a data channel too: both valid, neither created.
        let disk = try scratch.file("root.img", [UInt8](repeating: 0, count: 4096))
        params["disks"] = [["id": "root", "hostPath": .string(disk), "readOnly": true, "format": "raw"]]
        params["dataChannels"] = [["name": "egress", "path": .string("\(scratch.path)/egress.sock"), "guestPort": 68664]]
        h.send(String(decoding: JSONValue.object(["id": 2, "method": "start", "params": .object(params)]).serialized(), as: UTF8.self))
        let reply = try XCTUnwrap(h.next())
        XCTAssertEqual(reply["error"]?["code"], "hypervisorUnavailable", "\(reply)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(scratch.path)/ssh.sock"), "nothing created")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(scratch.path)/egress.sock"), "nothing created")
        h.closeStdin()
        XCTAssertEqual(h.waitForExit(timeout: 5), 0)
        #else
        throw XCTSkip("Linux-only check")
        #endif
    }
}

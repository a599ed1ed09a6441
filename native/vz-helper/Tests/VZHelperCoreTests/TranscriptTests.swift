import XCTest
@testable import VZHelperCore

/// Replays transcripts against the built vz-helper executable, spawned exactly as main spawns
/// it. On Linux its hypervisor is unavailable, so only transcripts without `"requires": ["vm"]`
/// run here; the VM ones run on a Mac (README checklist).
final class TranscriptTests: XCTestCase {
    private var scratch: ScratchDir!
    override func setUpWithError() throws { scratch = try ScratchDir() }
    override func tearDown() { scratch.remove() }

    static var here: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent() }
    static var protocolFixtures: URL {
        if let dir = ProcessInfo.processInfo.environment["VIVARIUM_PROTOCOL_FIXTURES"] { return URL(fileURLWithPath: dir) }
        return here.appendingPathComponent("../../../protocol/fixtures").standardized
    }

    private func helperPath() throws -> String {
        try XCTUnwrap(HelperProcess.executablePath, "build vz-helper first (swift build) or set VZ_HELPER_EXECUTABLE")
    }

    private func placeholders() throws -> [String: String] {
        let rundir = try scratch.dir("run")
        return ["KERNEL": try scratch.file("Image", fakeArm64Image()), "INITRD": try scratch.file("initrd.img", [0x30]),
                "SHARE": try scratch.dir("share"), "RUNDIR": rundir, "CONSOLE": "\(rundir)/console.log",
                "CHANNEL": "\(rundir)/ssh.sock", "DATA_CHANNEL": "\(rundir)/data.sock",
                "DISK": try scratch.file("disk.img", [UInt8](repeating: 0, count: 1 << 20)), "DISK_FORMAT": "raw",
                "ARCH": VZHostArch.current, "CMDLINE": "quiet panic=-1"]
    }

    private func transcripts(in dir: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".jsonl") }.sorted().map { dir.appendingPathComponent($0) }
    }

    /// Non-VM transcripts run against the built executable; `"requires": ["vm"]` ones against
    /// the Session with the scripted backend (protocol logic only, see InProcessHelper).
    @discardableResult
    private func replay(_ url: URL) throws -> Bool {
        let text = try String(contentsOf: url, encoding: .utf8)
        let needsVM = TranscriptReplayer.requirements(text).contains("vm")
        scratch.remove()
        scratch = try ScratchDir()
        var values = try placeholders()
        let target: TranscriptTarget
        var process: HelperProcess?
        if needsVM {
            target = InProcessHelper()
            values["ARCH"] = "arm64"   // the scripted backend describes an arm64 Mac
        } else {
            process = try HelperProcess(path: try helperPath())
            target = process!
        }
        defer { process?.kill() }
        TranscriptReplayer(name: url.lastPathComponent, lines: text.components(separatedBy: "\n"),
                           placeholders: values).replay(against: target)
        return needsVM
    }

    /// This helper's own transcripts (Tests/VZHelperCoreTests/Transcripts).
    func testVZTranscripts() throws {
        let files = transcripts(in: Self.here.appendingPathComponent("Transcripts"))
        XCTAssertGreaterThanOrEqual(files.count, 4)
        for file in files { try replay(file) }
    }

    /// The shared golden transcripts from native/protocol/fixtures: all of them, each on the
    /// target its `requires` header allows.
    func testProtocolFixtures() throws {
        let all = transcripts(in: Self.protocolFixtures)
        try XCTSkipIf(all.isEmpty, "no transcripts in \(Self.protocolFixtures.path) yet")
        var onProcess = 0
        for file in all where try !replay(file) { onProcess += 1 }
        XCTAssertGreaterThan(onProcess, 0, "no fixture ran against the real executable")
    }

    /// The non-VM fixtures against the state machine as it behaves on an Apple-silicon Mac
    /// (hypervisor available, arm64 kernel check on), with a placeholder kernel that is not an
    /// Image — what test/support/transcript.ts feeds the real helper there.
    func testNonVMFixturesAsOnAnAppleSiliconMac() throws {
        let all = transcripts(in: Self.protocolFixtures)
        try XCTSkipIf(all.isEmpty, "no transcripts in \(Self.protocolFixtures.path) yet")
        for file in all {
            let text = try String(contentsOf: file, encoding: .utf8)
            if TranscriptReplayer.requirements(text).contains("vm") { continue }
            scratch.remove()
            scratch = try ScratchDir()
            var values = try placeholders()
            values["KERNEL"] = try scratch.file("placeholder-kernel", Array("not a kernel\n".utf8))
            values["ARCH"] = "arm64"
            TranscriptReplayer(name: file.lastPathComponent, lines: text.components(separatedBy: "\n"),
                               placeholders: values).replay(against: InProcessHelper())
        }
    }

    func testReplayerMatchingRules() {
        XCTAssertTrue(TranscriptReplayer.matches(["id": 1, "result": ["state": "*"]], ["id": 1, "result": ["state": "running", "pid": 3]]))
        XCTAssertFalse(TranscriptReplayer.matches(["id": 1, "result": ["state": "running"]], ["id": 1, "result": ["state": "stopped"]]))
        XCTAssertFalse(TranscriptReplayer.matches(["id": 1, "pid": "*"], ["id": 1]), "a listed member must be present")
        XCTAssertTrue(TranscriptReplayer.matches(["path": "<abs-path>"], ["path": "/run/x.sock"]))
        XCTAssertFalse(TranscriptReplayer.matches(["path": "<abs-path>"], ["path": "run/x.sock"]))
        XCTAssertTrue(TranscriptReplayer.matches(["k": "<any-of:vsock|hvsocket>"], ["k": "vsock"]))
        XCTAssertFalse(TranscriptReplayer.matches(["k": "<any-of:vsock|hvsocket>"], ["k": "9p"]))
        XCTAssertFalse(TranscriptReplayer.matches(["a": [1, 2]], ["a": [1, 2, 3]]))
        XCTAssertTrue(TranscriptReplayer.matches(["id": .null], ["id": .null, "error": [:]]))
        XCTAssertEqual(TranscriptReplayer.oversizedLine(bytes: 1_048_577).count, 1_048_578)
    }
}

/// The host arch as the helper names it.
enum VZHostArch {
    static var current: String {
        #if arch(arm64)
        return "arm64"
        #else
        return "x86_64"
        #endif
    }
}

import XCTest
@testable import VZHelperCore

final class VmSpecValidatorTests: XCTestCase {
    private var scratch: ScratchDir!
    private var params: [String: JSONValue] = [:]
    private let validator = VmSpecValidator(host: vzLikeHost())

    override func setUpWithError() throws {
        scratch = try ScratchDir()
        params = try goodStartParams(scratch)
    }
    override func tearDown() { scratch.remove() }

    private func expect(_ code: ErrorCode, naming member: String, _ change: (inout [String: JSONValue]) throws -> Void,
                        file: StaticString = #filePath, line: UInt = #line) rethrows {
        var p = params
        try change(&p)
        XCTAssertThrowsError(try validator.validate(p), file: file, line: line) { error in
            guard let e = error as? HelperError else { return XCTFail("not a HelperError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.code, code, e.message, file: file, line: line)
            XCTAssertTrue(e.message.hasPrefix(member), "message \"\(e.message)\" should name \(member)", file: file, line: line)
        }
    }

    func testGoodSpecValidatesWithDefaultsFilledIn() throws {
        let spec = try validator.validate(params)
        XCTAssertEqual(spec.shareKind, "virtiofs")
        XCTAssertEqual(spec.channelKind, "vsock")
        XCTAssertEqual(spec.guestPort, 22)
        XCTAssertEqual(spec.shares, [ShareSpec(tag: "workspace", hostPath: "\(scratch.path)/share", readOnly: true)])
        params["arch"] = nil
        XCTAssertEqual(try validator.validate(params).arch, "arm64", "arch defaults to the host's")
    }

    func testEachMemberIsCheckedAndNamed() throws {
        expect(.invalidArgument, naming: "name") { $0["name"] = "has space" }
        expect(.invalidArgument, naming: "name") { $0["name"] = .string(String(repeating: "a", count: 65)) }
        expect(.invalidArgument, naming: "name") { $0["name"] = nil }
        expect(.unsupported, naming: "arch") { $0["arch"] = "riscv64" }
        expect(.invalidArgument, naming: "arch") { $0["arch"] = 64 }
        expect(.unsupported, naming: "arch") { $0["arch"] = "x86_64" }
        expect(.notFound, naming: "kernel") { $0["kernel"] = "/nonexistent/vmlinux" }
        expect(.invalidArgument, naming: "kernel") { $0["kernel"] = "relative/Image" }
        expect(.invalidArgument, naming: "kernel") { $0["kernel"] = .string(self.scratch.path) }
        expect(.notFound, naming: "initrd") { $0["initrd"] = "/nonexistent/initrd" }
        expect(.invalidArgument, naming: "cmdline") { $0["cmdline"] = .string(String(repeating: "x", count: 2049)) }
        expect(.invalidArgument, naming: "cpus") { $0["cpus"] = 0 }
        expect(.invalidArgument, naming: "cpus") { $0["cpus"] = 5 }
        expect(.invalidArgument, naming: "cpus") { $0["cpus"] = "2" }
        expect(.invalidArgument, naming: "memoryMiB") { $0["memoryMiB"] = 127 }
        expect(.invalidArgument, naming: "memoryMiB") { $0["memoryMiB"] = 8193 }
        expect(.invalidArgument, naming: "shares") { $0["shares"] = "workspace" }
        expect(.invalidArgument, naming: "shares") { $0["shares"] = .array(Array(repeating: .object([:]), count: 9)) }
        expect(.invalidArgument, naming: "shares[0].tag") { $0["shares"] = [["tag": "Work", "hostPath": "/", "readOnly": true]] }
        expect(.notFound, naming: "shares[0].hostPath") { $0["shares"] = [["tag": "w", "hostPath": "/nonexistent", "readOnly": true]] }
        expect(.invalidArgument, naming: "shares[0].readOnly") { $0["shares"] = [["tag": "w", "hostPath": "/", "readOnly": "yes"]] }
        expect(.invalidArgument, naming: "shares[1].tag") {
            $0["shares"] = [["tag": "w", "hostPath": "/", "readOnly": true], ["tag": "w", "hostPath": "/", "readOnly": false]]
        }
        expect(.unsupported, naming: "shareKind") { $0["shareKind"] = "9p" }
        expect(.unsupported, naming: "channelKind") { $0["channelKind"] = "virtio-serial" }
        expect(.invalidArgument, naming: "channelPath") { $0["channelPath"] = .string("/tmp/" + String(repeating: "s", count: 100)) }
        expect(.notFound, naming: "channelPath") { $0["channelPath"] = "/nonexistent/dir/ssh.sock" }
        expect(.invalidArgument, naming: "channelPath") { $0["channelPath"] = .string(self.params["kernel"]!.stringValue!) }
        expect(.invalidArgument, naming: "guestPort") { $0["guestPort"] = 0 }
        expect(.invalidArgument, naming: "guestPort") { $0["guestPort"] = 70000 }
        expect(.invalidArgument, naming: "consoleLog") { $0["consoleLog"] = .string(self.scratch.path) }
        expect(.notFound, naming: "consoleLog") { $0["consoleLog"] = "/nonexistent/console.log" }
    }

    func testOtherMembersAreReportedBeforeTheKernelFormat() throws {
        let text = try scratch.file("not-a-kernel", Array("not a kernel\n".utf8))
        expect(.notFound, naming: "initrd") { $0["kernel"] = .string(text); $0["initrd"] = "/nonexistent/initrd" }
        expect(.unsupported, naming: "shareKind") { $0["kernel"] = .string(text); $0["shareKind"] = "nfs" }
        expect(.invalidArgument, naming: "kernel") { $0["kernel"] = .string(text) }
    }

    func testCompressedOrForeignArm64KernelsAreRefusedBeforeBoot() throws {
        let gz = try scratch.file("Image.gz", [0x1F, 0x8B, 0x08, 0x00] + [UInt8](repeating: 0, count: 60))
        expect(.invalidArgument, naming: "kernel") { $0["kernel"] = .string(gz) }
        let x86 = try scratch.file("bzImage", [UInt8](repeating: 0x4D, count: 64))
        expect(.invalidArgument, naming: "kernel") { $0["kernel"] = .string(x86) }
    }

    /// The real arm64 guest kernel, when the guest image has been built in this tree.
    func testTheProjectsArm64GuestKernelPassesTheMagicCheck() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../..").standardized.path
        let image = "\(repo)/dist/guest/arm64/Image"
        try XCTSkipUnless(FileManager.default.fileExists(atPath: image), "no \(image) (guest-image/build.sh not run)")
        XCTAssertNoThrow(try KernelImage.checkUncompressedArm64(image))
    }

    func testBootCommandLineAddsTheVZConsoleOnce() {
        XCTAssertEqual(BootCommandLine.forVZ("quiet"), "quiet console=hvc0")
        XCTAssertEqual(BootCommandLine.forVZ(""), "console=hvc0")
        XCTAssertEqual(BootCommandLine.forVZ("console=hvc0 quiet"), "console=hvc0 quiet")
    }
}

import XCTest
@testable import VZHelperCore

/// `disks` and `dataChannels` (PROTOCOL.md §5.2.1–§5.2.3): validation, its order, the features
/// that bound them, and the `start` result that lists the data channels.
final class DisksAndDataChannelsTests: XCTestCase {
    private var scratch: ScratchDir!
    private var params: [String: JSONValue] = [:]
    private var disk = ""

    override func setUpWithError() throws {
        scratch = try ScratchDir()
        params = try goodStartParams(scratch)
        disk = try scratch.file("root.img", [UInt8](repeating: 0, count: 4096))
        params["disks"] = [["id": "root", "hostPath": .string(disk), "readOnly": true, "format": "raw"]]
        params["dataChannels"] = [["name": "egress", "path": .string("\(scratch.path)/egress.sock"), "guestPort": 68664]]
    }
    override func tearDown() { scratch.remove() }

    private func validate(_ p: [String: JSONValue], features: Features = vzLikeFeatures()) throws -> VmSpec {
        try VmSpecValidator(host: HostProfile(hostArch: "arm64", features: features, requiresUncompressedArm64Kernel: true)).validate(p)
    }

    private func expect(_ code: ErrorCode, naming member: String, features: Features = vzLikeFeatures(),
                        _ change: (inout [String: JSONValue]) throws -> Void, file: StaticString = #filePath, line: UInt = #line) rethrows {
        var p = params
        try change(&p)
        XCTAssertThrowsError(try validate(p, features: features), file: file, line: line) { error in
            guard let e = error as? HelperError else { return XCTFail("not a HelperError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.code, code, e.message, file: file, line: line)
            XCTAssertTrue(e.message.hasPrefix(member), "message \"\(e.message)\" should name \(member)", file: file, line: line)
        }
    }

    private func channel(_ name: String, _ file: String, _ port: JSONValue) -> JSONValue {
        ["name": .string(name), "path": .string("\(scratch.path)/\(file)"), "guestPort": port]
    }

    func testAGoodSpecKeepsDisksAndChannelsInOrder() throws {
        let second = try scratch.file("data.img", [UInt8](repeating: 0, count: 512))
        params["disks"] = [["id": "root", "hostPath": .string(disk), "readOnly": true, "format": "raw"],
                           ["id": "data-2", "hostPath": .string(second), "readOnly": false, "format": "raw"]]
        params["dataChannels"] = [channel("egress", "e.sock", 68664), channel("logs", "l.sock", 4)]
        let spec = try validate(params)
        XCTAssertEqual(spec.disks, [DiskSpec(id: "root", hostPath: disk, readOnly: true, format: "raw"),
                                    DiskSpec(id: "data-2", hostPath: second, readOnly: false, format: "raw")])
        XCTAssertEqual(spec.dataChannels, [DataChannelSpec(name: "egress", path: "\(scratch.path)/e.sock", guestPort: 68664),
                                           DataChannelSpec(name: "logs", path: "\(scratch.path)/l.sock", guestPort: 4)])
        params["disks"] = nil
        params["dataChannels"] = []
        let bare = try validate(params)
        XCTAssertEqual(bare.disks, [], "absent means no disks")
        XCTAssertEqual(bare.dataChannels, [])
    }

    func testEachDiskMemberIsCheckedAndNamed() throws {
        let one = { (d: JSONValue) -> JSONValue in [d] }
        expect(.invalidArgument, naming: "disks") { $0["disks"] = "root" }
        expect(.invalidArgument, naming: "disks") {
            $0["disks"] = .array((0..<5).map { i in ["id": .string("d\(i)"), "hostPath": .string(self.disk), "readOnly": true, "format": "raw"] })
        }
        expect(.invalidArgument, naming: "disks[0]") { $0["disks"] = one("root") }
        expect(.invalidArgument, naming: "disks[0].id") { $0["disks"] = one(["id": "Root", "hostPath": .string(self.disk), "readOnly": true, "format": "raw"]) }
        expect(.invalidArgument, naming: "disks[0].id") {
            $0["disks"] = one(["id": .string("a" + String(repeating: "b", count: 20)), "hostPath": .string(self.disk), "readOnly": true, "format": "raw"])
        }
        expect(.invalidArgument, naming: "disks[0].id") { $0["disks"] = one(["hostPath": .string(self.disk), "readOnly": true, "format": "raw"]) }
        expect(.notFound, naming: "disks[0].hostPath") { $0["disks"] = one(["id": "r", "hostPath": "/nonexistent/root.img", "readOnly": true, "format": "raw"]) }
        expect(.invalidArgument, naming: "disks[0].hostPath") { $0["disks"] = one(["id": "r", "hostPath": "root.img", "readOnly": true, "format": "raw"]) }
        expect(.invalidArgument, naming: "disks[0].hostPath") { $0["disks"] = one(["id": "r", "hostPath": .string(self.scratch.path), "readOnly": true, "format": "raw"]) }
        expect(.invalidArgument, naming: "disks[0].readOnly") { $0["disks"] = one(["id": "r", "hostPath": .string(self.disk), "format": "raw"]) }
        expect(.invalidArgument, naming: "disks[0].format") { $0["disks"] = one(["id": "r", "hostPath": .string(self.disk), "readOnly": true]) }
        expect(.unsupported, naming: "disks[0].format") { $0["disks"] = one(["id": "r", "hostPath": .string(self.disk), "readOnly": true, "format": "vhdx"]) }
        expect(.invalidArgument, naming: "disks[1].id") {
            $0["disks"] = [["id": "r", "hostPath": .string(self.disk), "readOnly": true, "format": "raw"],
                           ["id": "r", "hostPath": .string(self.disk), "readOnly": true, "format": "raw"]]
        }
    }

    func testEachDataChannelMemberIsCheckedAndNamed() throws {
        expect(.invalidArgument, naming: "dataChannels") { $0["dataChannels"] = ["name": "egress"] }
        expect(.invalidArgument, naming: "dataChannels") { $0["dataChannels"] = .array((0..<5).map { self.channel("c\($0)", "c\($0).sock", .int(Int64(100 + $0))) }) }
        expect(.invalidArgument, naming: "dataChannels[0].name") { $0["dataChannels"] = [self.channel("Egress", "e.sock", 5)] }
        expect(.invalidArgument, naming: "dataChannels[0].name") { $0["dataChannels"] = [self.channel("ssh", "e.sock", 5)] }
        expect(.invalidArgument, naming: "dataChannels[0].name") { $0["dataChannels"] = [self.channel("a234567890123456x", "e.sock", 5)] }
        expect(.invalidArgument, naming: "dataChannels[1].name") { $0["dataChannels"] = [self.channel("e", "a.sock", 5), self.channel("e", "b.sock", 6)] }
        expect(.invalidArgument, naming: "dataChannels[0].path") { $0["dataChannels"] = [["name": "e", "path": "e.sock", "guestPort": 5]] }
        expect(.notFound, naming: "dataChannels[0].path") { $0["dataChannels"] = [["name": "e", "path": "/nonexistent/e.sock", "guestPort": 5]] }
        expect(.invalidArgument, naming: "dataChannels[0].path") { $0["dataChannels"] = [["name": "e", "path": self.params["kernel"]!, "guestPort": 5]] }
        expect(.invalidArgument, naming: "dataChannels[0].path") {
            $0["dataChannels"] = [["name": "e", "path": .string("/tmp/" + String(repeating: "s", count: 100)), "guestPort": 5]]
        }
        expect(.invalidArgument, naming: "dataChannels[0].path") { $0["dataChannels"] = [["name": "e", "path": self.params["channelPath"]!, "guestPort": 5]] }
        expect(.invalidArgument, naming: "dataChannels[0].path") { $0["dataChannels"] = [["name": "e", "path": self.params["consoleLog"]!, "guestPort": 5]] }
        expect(.invalidArgument, naming: "dataChannels[1].path") { $0["dataChannels"] = [self.channel("a", "x.sock", 5), self.channel("b", "x.sock", 6)] }
        expect(.invalidArgument, naming: "dataChannels[0].guestPort") { $0["dataChannels"] = [self.channel("e", "e.sock", 0)] }
        expect(.invalidArgument, naming: "dataChannels[0].guestPort") { $0["dataChannels"] = [self.channel("e", "e.sock", 4_294_967_295)] }
        expect(.invalidArgument, naming: "dataChannels[0].guestPort") { $0["dataChannels"] = [self.channel("e", "e.sock", "5")] }
        expect(.invalidArgument, naming: "dataChannels[0].guestPort") { $0["dataChannels"] = [["name": "e", "path": .string("\(self.scratch.path)/e.sock")]] }
        expect(.invalidArgument, naming: "dataChannels[0].guestPort") { $0["dataChannels"] = [self.channel("e", "e.sock", 22)] }
        expect(.invalidArgument, naming: "dataChannels[0].guestPort") { $0["guestPort"] = 2222; $0["dataChannels"] = [self.channel("e", "e.sock", 2222)] }
        expect(.invalidArgument, naming: "dataChannels[1].guestPort") { $0["dataChannels"] = [self.channel("a", "a.sock", 7), self.channel("b", "b.sock", 7)] }
        XCTAssertEqual(try validate(params.merging(["dataChannels": [channel("e", "e.sock", 4_294_967_294)]]) { $1 }).dataChannels.first?.guestPort,
                       4_294_967_294, "the top of the range is a valid port")
    }

    func testWhatTheHelperOffersIsCheckedLastAsUnsupported() throws {
        var f = vzLikeFeatures()
        f.dataChannels = 1
        expect(.unsupported, naming: "dataChannels", features: f) { $0["dataChannels"] = [self.channel("a", "a.sock", 5), self.channel("b", "b.sock", 6)] }
        // A member error in a later entry wins over the count: entries are checked first.
        expect(.invalidArgument, naming: "dataChannels[1].guestPort", features: f) { $0["dataChannels"] = [self.channel("a", "a.sock", 5), self.channel("b", "b.sock", 0)] }
        f.dataChannels = 0
        expect(.unsupported, naming: "dataChannels", features: f) { _ in }
        f = vzLikeFeatures()
        f.readOnlyDisks = false
        expect(.unsupported, naming: "disks[0].readOnly", features: f) { _ in }
        f = vzLikeFeatures()
        f.diskFormats = []
        expect(.unsupported, naming: "disks[0].format", features: f) { _ in }
        // The format of disks[0] is only judged after disks[1]'s members.
        expect(.notFound, naming: "disks[1].hostPath") {
            $0["disks"] = [["id": "a", "hostPath": .string(self.disk), "readOnly": true, "format": "qcow2"],
                           ["id": "b", "hostPath": "/nonexistent/b.img", "readOnly": true, "format": "raw"]]
        }
    }

    func testDisksAreCheckedBeforeDataChannelsAndBothAfterTheOtherMembers() throws {
        expect(.notFound, naming: "disks[0].hostPath") {
            $0["disks"] = [["id": "r", "hostPath": "/nonexistent/root.img", "readOnly": true, "format": "raw"]]
            $0["dataChannels"] = [self.channel("ssh", "e.sock", 5)]
        }
        expect(.notFound, naming: "consoleLog") {
            $0["consoleLog"] = "/nonexistent/console.log"
            $0["disks"] = "bad"
        }
        // …but before the arm64 Image check, which is this helper's own and comes last.
        let text = try scratch.file("not-a-kernel", Array("not a kernel\n".utf8))
        expect(.invalidArgument, naming: "disks") { $0["kernel"] = .string(text); $0["disks"] = "bad" }
    }

    func testTheStartResultListsDataChannelsInSpecOrderOnlyWhenAsked() throws {
        let backend = ScriptedBackend()
        let log = MessageLog()
        let session = Session(backend: backend) { log.append($0) }
        let send = { (m: JSONValue) in session.receive(.line(m.serialized())) }
        send(["id": 1, "method": "hello", "params": ["protocol": 1]])
        params["dataChannels"] = [channel("egress", "e.sock", 68664), channel("logs", "l.sock", 4)]
        send(["id": 2, "method": "start", "params": .object(params)])
        let result = try XCTUnwrap(log.reply(2)?["result"])
        XCTAssertEqual(result["dataChannels"], [["name": "egress", "kind": "vsock", "path": .string("\(scratch.path)/e.sock")],
                                                ["name": "logs", "kind": "vsock", "path": .string("\(scratch.path)/l.sock")]])
        XCTAssertEqual(backend.startedSpecs.first?.disks.map(\.id), ["root"])
        send(["id": 3, "method": "stop", "params": ["force": true]])
        XCTAssertNotNil(log.reply(3)?["result"])
        params["dataChannels"] = nil
        send(["id": 4, "method": "start", "params": .object(params)])
        let plain = try XCTUnwrap(log.reply(4)?["result"])
        XCTAssertNotNil(plain["channel"])
        XCTAssertNil(plain["dataChannels"], "omitted when none were asked for")
    }
}

import XCTest
@testable import VZHelperCore

final class SessionTests: XCTestCase {
    private var scratch: ScratchDir!
    private var backend: ScriptedBackend!
    private var log: MessageLog!
    private var session: Session!

    override func setUpWithError() throws {
        scratch = try ScratchDir()
        backend = ScriptedBackend()
        log = MessageLog()
        session = makeSession(startDeadline: 30)
    }
    override func tearDown() { scratch.remove() }

    private func makeSession(startDeadline: TimeInterval) -> Session {
        Session(backend: backend, startDeadline: startDeadline) { [log] in log!.append($0) }
    }

    private func send(_ request: JSONValue) { session.receive(.line(request.serialized())) }
    private func hello(id: Int64 = 1) { send(["id": .int(id), "method": "hello", "params": ["protocol": 1]]); _ = log.reply(id) }
    private func start(id: Int64) throws { send(["id": .int(id), "method": "start", "params": .object(try goodStartParams(scratch))]) }
    private func errorCode(_ reply: JSONValue?) -> String? { reply?["error"]?["code"]?.stringValue }
    private func events(_ messages: [JSONValue]) -> [String] {
        messages.compactMap { m in
            guard let e = m["event"]?.stringValue else { return nil }
            return e == "state" ? "state:\(m["state"]!.stringValue!)" : e == "exit" ? "exit:\(m["reason"]!.stringValue!)" : e
        }
    }

    func testHelloMustComeFirstAndReportsFeatures() throws {
        send(["id": 1, "method": "status"])
        XCTAssertEqual(errorCode(log.reply(1)), "invalidState")
        send(["id": 2, "method": "hello", "params": ["protocol": 2]])
        let refused = log.reply(2)
        XCTAssertEqual(errorCode(refused), "unsupported")
        XCTAssertEqual(refused?["error"]?["cause"]?["supported"], [1])
        send(["id": 3, "method": "hello", "params": ["protocol": 1, "client": "vivarium/0.1.0"]])
        let hello = try XCTUnwrap(log.reply(3)?["result"]).decode(HelloResult.self)
        XCTAssertEqual(hello.features.shareKinds, ["virtiofs"])
        XCTAssertEqual(hello.features.channelKinds, ["vsock"])
        XCTAssertNil(hello.unavailableReason)
        send(["id": 4, "method": "hello", "params": ["protocol": 1]])
        XCTAssertNotNil(log.reply(4)?["result"], "a second hello answers the same")
        send(["id": 5, "method": "frobnicate"])
        XCTAssertEqual(errorCode(log.reply(5)), "unsupported")
    }

    func testStartStatusStopEmitEventsInOrderAndReplyAfterThem() throws {
        hello()
        try start(id: 2)
        let started = try XCTUnwrap(log.reply(2)?["result"]).decode(StartResult.self)
        XCTAssertEqual(started.state, .running)
        XCTAssertEqual(started.channel, ChannelInfo(kind: "vsock", path: "\(scratch.path)/ssh.sock"))
        XCTAssertNil(started.pid, "VZ has no hypervisor process")
        send(["id": 3, "method": "status"])
        let status = try XCTUnwrap(log.reply(3)?["result"]).decode(StatusResult.self)
        XCTAssertEqual(status.state, .running)
        XCTAssertEqual(status.accelerator, "vz")
        XCTAssertNotNil(status.uptimeMs)
        send(["id": 4, "method": "stop", "params": ["timeoutMs": 50]])
        let stopped = try XCTUnwrap(log.reply(4)?["result"]).decode(StopResult.self)
        XCTAssertEqual(stopped, StopResult(state: .stopped, forced: false))
        XCTAssertEqual(events(log.all), ["state:starting", "channel", "state:running", "state:stopping", "exit:stopped", "state:stopped"])
        let all = log.all
        XCTAssertLessThan(all.firstIndex { $0["event"] == "channel" }!, all.firstIndex { $0["id"] == 2 }!, "channel before the start reply")
        XCTAssertLessThan(all.lastIndex { $0["state"] == "stopped" }!, all.firstIndex { $0["id"] == 4 }!, "stopped before the stop reply")
        XCTAssertEqual(backend.stopCalls.first?.force, false)
        XCTAssertEqual(backend.stopCalls.first?.timeoutMs, 50)
    }

    func testForcedStopAndGuestThatIgnoresRequestStopReportForced() throws {
        hello()
        backend.guestObeysRequestStop = false
        try start(id: 2); _ = log.reply(2)
        send(["id": 3, "method": "stop"])
        XCTAssertEqual(log.reply(3)?["result"]?["forced"], true)
        XCTAssertTrue(events(log.all).contains("exit:forced"))
    }

    func testCallOrderErrors() throws {
        hello()
        send(["id": 2, "method": "stop"])
        XCTAssertEqual(log.reply(2)?["result"], ["state": "stopped", "forced": false], "stopping a stopped VM succeeds")
        try start(id: 3); _ = log.reply(3)
        try start(id: 4)
        XCTAssertEqual(errorCode(log.reply(4)), "invalidState", "start while running")
        send(["id": 5, "method": "stop", "params": ["timeoutMs": 600001]])
        XCTAssertEqual(errorCode(log.reply(5)), "invalidArgument")
        send(["id": 6, "method": "stop", "params": ["force": "yes"]])
        XCTAssertEqual(errorCode(log.reply(6)), "invalidArgument")
    }

    func testBadSpecLeavesTheHelperStoppedAndUnavailableHypervisorIsReported() throws {
        hello()
        send(["id": 2, "method": "start", "params": ["name": "x"]])
        XCTAssertEqual(errorCode(log.reply(2)), "invalidArgument")
        backend.available = false
        try start(id: 3)
        let reply = log.reply(3)
        XCTAssertEqual(errorCode(reply), "hypervisorUnavailable")
        XCTAssertEqual(reply?["error"]?["message"]?.stringValue?.contains("scripted: no hypervisor"), true)
        XCTAssertEqual(events(log.all), [], "no state change after a refused start")
        XCTAssertTrue(backend.startedSpecs.isEmpty)
    }

    func testStopWhileStartingCancelsTheStartAndRepliesInOrder() throws {
        hello()
        backend.startBehaviour = .hang
        try start(id: 2)
        send(["id": 3, "method": "status"])
        XCTAssertEqual(log.reply(3)?["result"]?["state"], "starting", "status answers while start is in flight")
        try start(id: 4)
        XCTAssertEqual(errorCode(log.reply(4)), "invalidState", "a second start while one is in flight")
        send(["id": 5, "method": "stop"])
        XCTAssertEqual(log.reply(5)?["result"]?["state"], "stopped")
        let startReply = log.reply(2)
        XCTAssertEqual(errorCode(startReply), "invalidState")
        XCTAssertEqual(startReply?["error"]?["message"], "start: stopped while starting")
        let all = log.all
        XCTAssertLessThan(all.firstIndex { $0["id"] == 2 }!, all.firstIndex { $0["id"] == 5 }!)
        XCTAssertEqual(events(all).last, "state:stopped")
        XCTAssertEqual(backend.stopCalls.first?.force, true, "nothing to ask a guest that is not up")
    }

    func testStartDeadlineGivesTimeoutAndCleansUp() throws {
        session = makeSession(startDeadline: 0.2)
        hello()
        backend.startBehaviour = .hang
        try start(id: 2)
        XCTAssertEqual(errorCode(log.reply(2)), "timeout")
        log.wait { self.events($0).last == "state:stopped" }
        XCTAssertEqual(events(log.all).last, "state:stopped")
        XCTAssertEqual(backend.stopCalls.count, 1)
    }

    func testFailedStartReturnsTheBackendErrorAndStateStopped() throws {
        hello()
        backend.startBehaviour = .fail(HelperError(.internal, "VZVirtualMachine.start failed: boom"))
        try start(id: 2)
        XCTAssertEqual(log.reply(2)?["error"]?["message"], "VZVirtualMachine.start failed: boom")
        XCTAssertEqual(events(log.all), ["state:starting", "state:stopped"])
    }

    func testGuestPoweroffAndCrashBecomeExitEvents() throws {
        hello()
        try start(id: 2); _ = log.reply(2)
        backend.guestEnds(VMExit(reason: .poweroff, message: "the guest powered off"))
        var all = log.wait { self.events($0).last == "state:stopped" }
        XCTAssertEqual(Array(events(all).suffix(2)), ["exit:poweroff", "state:stopped"])
        XCTAssertEqual(all.first { $0["event"] == "exit" }?["exitCode"], .null)
        try start(id: 3); _ = log.reply(3)
        backend.guestEnds(VMExit(reason: .crashed, message: "internal virtualization error"))
        all = log.wait { self.events($0).filter { $0 == "state:stopped" }.count == 2 }
        XCTAssertEqual(Array(events(all).suffix(2)), ["exit:crashed", "state:stopped"])
    }

    func testShutdownForceStopsARunningVM() throws {
        hello()
        try start(id: 2); _ = log.reply(2)
        let done = expectation(description: "shutdown finished")
        session.shutdown { done.fulfill() }
        wait(for: [done], timeout: 20)
        XCTAssertEqual(backend.stopCalls.last?.force, true)
        XCTAssertEqual(Array(events(log.all).suffix(2)), ["exit:forced", "state:stopped"])
    }

    func testOversizedAndMalformedInputGetNullIdErrors() {
        session.receive(.oversized)
        session.receive(.line(Data("not json".utf8)))
        let all = log.wait { $0.count == 2 }
        XCTAssertEqual(all.map { $0["id"] }, [.null, .null])
        XCTAssertEqual(all.map { errorCode($0) }, ["invalidArgument", "invalidArgument"])
    }
}

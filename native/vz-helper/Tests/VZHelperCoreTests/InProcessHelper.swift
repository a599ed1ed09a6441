import Foundation
@testable import VZHelperCore

/// A Session driven in this process through the same framing as the real stdin loop, with the
/// scripted backend behind it. Used to replay the `"requires": ["vm"]` transcripts on Linux: it
/// checks this helper's protocol logic (call order, event order, replies) for those
/// transcripts, NOT that a VM boots — that needs a Mac (README checklist).
final class InProcessHelper: TranscriptTarget {
    let backend = ScriptedBackend()
    private let log = MessageLog()
    private var session: Session!
    private var framer = LineFramer()
    private var consumed = 0
    private let exited = DispatchSemaphore(value: 0)
    private var exitStatus: Int32?

    init() {
        session = Session(backend: backend) { [log] in log.append($0) }
    }

    func send(raw: Data) {
        for input in framer.feed(raw) { session.receive(input) }
    }

    func next(timeout: TimeInterval) -> JSONValue? {
        let all = log.wait(timeout: timeout) { $0.count > self.consumed }
        guard all.count > consumed else { return nil }
        consumed += 1
        return all[consumed - 1]
    }

    /// Mirrors HelperMain: EOF → last partial line → shutdown → exit status 0.
    func closeStdin() {
        for input in framer.finish() { session.receive(input) }
        session.shutdown { [self] in exitStatus = 0; exited.signal() }
    }

    func waitForExit(timeout: TimeInterval) -> Int32? {
        exited.wait(timeout: .now() + timeout) == .success ? exitStatus : nil
    }

    var stderrOutput: String { "" }
}

import XCTest
@testable import VZHelperCore

final class LineFramerTests: XCTestCase {
    private func lines(_ inputs: [FramedInput]) -> [String] {
        inputs.map { if case .line(let d) = $0 { return String(decoding: d, as: UTF8.self) } else { return "<oversized>" } }
    }

    func testSplitsLinesAcrossChunksAndDropsCRAndBlankLines() {
        var f = LineFramer()
        var out = f.feed(Data("{\"a\":1}\r\n\n  \n{\"b\"".utf8))
        out += f.feed(Data(":2}\n".utf8))
        XCTAssertEqual(lines(out), ["{\"a\":1}", "{\"b\":2}"])
    }

    func testLastLineWithoutNewlineIsDeliveredAtEOF() {
        var f = LineFramer()
        XCTAssertEqual(f.feed(Data("{\"x\":1}".utf8)), [])
        XCTAssertEqual(lines(f.finish()), ["{\"x\":1}"])
    }

    func testLineOfExactlyTheCapPassesAndOneMoreByteIsOversized() {
        var f = LineFramer(maxLineBytes: 8)
        XCTAssertEqual(lines(f.feed(Data("12345678\r\n".utf8))), ["12345678"])
        XCTAssertEqual(lines(f.feed(Data("123456789\n".utf8))), ["<oversized>"])
    }

    func testOversizedLineIsReportedOnceAndDiscardedUpToTheNextNewline() {
        var f = LineFramer(maxLineBytes: 8)
        var out: [FramedInput] = []
        for _ in 0..<10 { out += f.feed(Data("abcdefghij".utf8)) }   // 100 bytes, no newline yet
        out += f.feed(Data("tail\n{\"ok\":1}\n".utf8))
        XCTAssertEqual(lines(out), ["<oversized>", "{\"ok\":1}"])
    }

    func testDefaultCapIsOneMebibyte() {
        var f = LineFramer()
        let exact = Data(repeating: 0x61, count: 1_048_576) + Data([0x0A])
        XCTAssertEqual(f.feed(exact).count, 1)
        if case .line(let d) = f.feed(exact).first { XCTAssertEqual(d.count, 1_048_576) } else { XCTFail("expected a line") }
        let over = Data(repeating: 0x61, count: 1_048_577) + Data([0x0A])
        XCTAssertEqual(f.feed(over), [.oversized])
    }
}

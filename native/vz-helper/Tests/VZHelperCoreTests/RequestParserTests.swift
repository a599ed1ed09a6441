import XCTest
@testable import VZHelperCore

final class RequestParserTests: XCTestCase {
    private func parse(_ s: String) -> ParsedLine { parseRequestLine(Data(s.utf8)) }

    func testWellFormedRequestKeepsIdMethodAndParamsAndIgnoresUnknownMembers() {
        XCTAssertEqual(parse(#"{"id":7,"method":"status","extra":true}"#),
                       .request(Request(id: 7, method: "status", params: [:])))
        XCTAssertEqual(parse(#"{"id":0,"method":"hello","params":{"protocol":1}}"#),
                       .request(Request(id: 0, method: "hello", params: ["protocol": 1])))
    }

    func testInvalidJSONNonObjectAndBadIdsAnswerWithNullId() {
        for line in ["{nope", "[1,2]", "42", #"{"method":"hello"}"#, #"{"id":-1,"method":"hello"}"#,
                     #"{"id":1.5,"method":"hello"}"#, #"{"id":"1","method":"hello"}"#, #"{"id":9007199254740992,"method":"x"}"#] {
            guard case .rejected(let id, let error) = parse(line) else { XCTFail("accepted \(line)"); continue }
            XCTAssertNil(id, line)
            XCTAssertEqual(error.code, .invalidArgument, line)
        }
    }

    func testBadMethodOrParamsAnswerWithTheRequestsId() {
        for line in [#"{"id":3}"#, #"{"id":3,"method":5}"#, #"{"id":3,"method":"start","params":[]}"#] {
            guard case .rejected(let id, let error) = parse(line) else { XCTFail("accepted \(line)"); continue }
            XCTAssertEqual(id, 3, line)
            XCTAssertEqual(error.code, .invalidArgument, line)
        }
    }

    func testRepliesSerializeWithNullIdAndUnescapedSlashes() throws {
        let reply = Reply.failure(id: nil, HelperError(.notFound, "kernel: /x/vmlinux does not exist", cause: ["errno": 2]))
        let text = String(decoding: reply.serialized(), as: UTF8.self)
        XCTAssertEqual(text, #"{"error":{"cause":{"errno":2},"code":"notFound","message":"kernel: /x/vmlinux does not exist"},"id":null}"#)
    }
}

import Foundation
import XCTest
@testable import VZHelperCore

/// Something a transcript can drive: the helper process, or a Session in this process.
protocol TranscriptTarget {
    func send(raw: Data)
    func next(timeout: TimeInterval) -> JSONValue?
    func closeStdin()
    func waitForExit(timeout: TimeInterval) -> Int32?
    var stderrOutput: String { get }
}

extension HelperProcess: TranscriptTarget {}

/// Replays a golden transcript (PROTOCOL.md §7) against a helper.
struct TranscriptReplayer {
    let name: String
    let lines: [String]
    let placeholders: [String: String]

    /// The `requires` header of a transcript, if any (e.g. ["vm"]).
    static func requirements(_ text: String) -> [String] {
        guard let first = text.split(separator: "\n").first,
              let header = try? JSONValue.parse(Data(first.utf8)), header["send"] == nil, header["expect"] == nil,
              let list = header["requires"]?.arrayValue else { return [] }
        return list.compactMap(\.stringValue)
    }

    /// Runs every step; records a failure (naming transcript and line) at the first mismatch.
    func replay(against helper: TranscriptTarget, file: StaticString = #filePath, line: UInt = #line) {
        for (index, text) in lines.enumerated() where !text.trimmingCharacters(in: .whitespaces).isEmpty {
            let at = "\(name):\(index + 1)"
            guard let step = try? JSONValue.parse(Data(substitute(text).utf8)) else {
                return XCTFail("\(at): not JSON: \(text)", file: file, line: line)
            }
            let repeats = Int(step["repeat"]?.integerValue ?? 1)
            if step["requires"] != nil { continue }
            if let send = step["send"] {
                let raw: Data = send.stringValue.map { Data($0.utf8) } ?? send.serialized()
                for _ in 0..<repeats { helper.send(raw: raw + Data([0x0A])) }
            } else if let size = step["sendOversized"]?.integerValue {
                // The fixtures name the id of the request the padded line carries.
                helper.send(raw: Self.oversizedLine(bytes: Int(size), id: step["id"]?.integerValue ?? 1))
            } else if let expected = step["expect"] {
                for _ in 0..<repeats {
                    guard let actual = helper.next(timeout: 20) else {
                        return XCTFail("\(at): expected \(expected) but the helper sent nothing more; stderr: \(helper.stderrOutput)", file: file, line: line)
                    }
                    guard Self.matches(expected, actual) else {
                        return XCTFail("\(at): expected \(String(decoding: expected.serialized(), as: UTF8.self)), got \(String(decoding: actual.serialized(), as: UTF8.self))", file: file, line: line)
                    }
                }
            } else if step["closeStdin"] == true {
                helper.closeStdin()
            } else if let status = step["expectExit"]?.integerValue {
                guard let got = helper.waitForExit(timeout: 5) else {
                    return XCTFail("\(at): the helper did not exit within 5 s", file: file, line: line)
                }
                XCTAssertEqual(Int64(got), status, "\(at): exit status", file: file, line: line)
            } else {
                return XCTFail("\(at): unknown step \(text)", file: file, line: line)
            }
        }
    }

    private func substitute(_ text: String) -> String {
        placeholders.reduce(text) { $0.replacingOccurrences(of: "${\($1.key)}", with: $1.value) }
    }

    /// A line of exactly `bytes` bytes of valid-looking JSON, then a newline.
    static func oversizedLine(bytes: Int, id: Int64 = 1) -> Data {
        let head = Data(#"{"id":\#(id),"method":"status","params":{"pad":""#.utf8)
        let tail = Data(#""}}"#.utf8)
        let pad = max(0, bytes - head.count - tail.count)
        return head + Data(repeating: 0x78, count: pad) + tail + Data([0x0A])
    }

    /// PROTOCOL.md §7 matching: listed members must be present and equal (objects recursively;
    /// extra actual members allowed); "*", "<abs-path>" and "<any-of:a|b>" are wildcards.
    static func matches(_ expected: JSONValue, _ actual: JSONValue) -> Bool {
        switch expected {
        case .string("*"): return true
        case .string("<abs-path>"): return actual.stringValue?.hasPrefix("/") ?? false
        case .string(let s) where s.hasPrefix("<any-of:") && s.hasSuffix(">"):
            let options = s.dropFirst("<any-of:".count).dropLast().split(separator: "|").map(String.init)
            return actual.stringValue.map(options.contains) ?? false
        case .object(let members):
            guard case .object(let got) = actual else { return false }
            return members.allSatisfy { key, value in got[key].map { matches(value, $0) } ?? false }
        case .array(let items):
            guard case .array(let got) = actual, got.count == items.count else { return false }
            return zip(items, got).allSatisfy { matches($0, $1) }
        case .int, .double:
            return expected.integerValue != nil ? expected.integerValue == actual.integerValue : expected == actual
        default:
            return expected == actual
        }
    }
}

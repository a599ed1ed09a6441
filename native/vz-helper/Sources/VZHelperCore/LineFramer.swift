import Foundation

/// One unit of input after framing.
public enum FramedInput: Equatable {
    /// A complete line without its `\n` (and without a preceding `\r`). Never blank.
    case line(Data)
    /// A line exceeded the cap; its bytes are being discarded up to the next newline.
    /// Reported once per oversized line, as soon as the cap is passed.
    case oversized
}

/// Splits a byte stream into protocol lines (PROTOCOL.md §2): `\n`-terminated, `\r` before it
/// dropped, blank lines skipped, lines longer than `maxLineBytes` (without the newline)
/// discarded up to and including the next newline and reported as `.oversized`.
/// Memory use is bounded by `maxLineBytes` whatever the input.
public struct LineFramer {
    public static let defaultMaxLineBytes = 1_048_576
    public let maxLineBytes: Int
    private var pending = Data()
    private var discarding = false

    public init(maxLineBytes: Int = LineFramer.defaultMaxLineBytes) {
        self.maxLineBytes = maxLineBytes
    }

    /// Feeds bytes; returns the inputs completed by them, in order.
    public mutating func feed(_ bytes: Data) -> [FramedInput] {
        var out: [FramedInput] = []
        var rest = bytes[...]
        while !rest.isEmpty {
            if let nl = rest.firstIndex(of: 0x0A) {
                let chunk = rest[rest.startIndex..<nl]
                rest = rest[rest.index(after: nl)...]
                if discarding {
                    discarding = false
                    continue
                }
                pending.append(contentsOf: chunk)   // bounded: pending ≤ cap + 1 before, chunk ≤ one read
                if let line = takeLine() { out.append(line) }
            } else {
                if !discarding {
                    pending.append(contentsOf: rest)
                    // A trailing `\r` may still belong to the line ending, so allow one extra byte.
                    if pending.count > maxLineBytes + 1 {
                        pending.removeAll()
                        discarding = true
                        out.append(.oversized)
                    }
                }
                rest = rest[rest.endIndex...]
            }
        }
        return out
    }

    /// At end of input: a last line without a newline is still delivered.
    public mutating func finish() -> [FramedInput] {
        defer { pending.removeAll(); discarding = false }
        if discarding { return [] }
        if pending.count > maxLineBytes { return [.oversized] }
        return takeLine().map { [$0] } ?? []
    }

    private mutating func takeLine() -> FramedInput? {
        var line = pending
        pending = Data()
        if line.last == 0x0D { line.removeLast() }
        if line.count > maxLineBytes { return .oversized }
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return nil }
        return .line(line)
    }
}

import Foundation

/// Checks on kernel files before handing them to a boot loader that cannot decompress them.
public enum KernelImage {
    /// arm64 `Image` header: magic "ARM\x64" at byte 0x38 (Linux Documentation/arch/arm64/booting.rst).
    static let arm64Magic: [UInt8] = [0x41, 0x52, 0x4D, 0x64]
    static let arm64MagicOffset = 0x38

    /// Throws `invalidArgument` unless `path` is an uncompressed arm64 Linux `Image`.
    /// VZLinuxBootLoader does not decompress: a gzip kernel hangs the VM with no message.
    public static func checkUncompressedArm64(_ path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw HelperError(.notFound, "kernel: cannot open \(path)", cause: ["path": .string(path)])
        }
        defer { try? handle.close() }
        let head = [UInt8](handle.readData(ofLength: arm64MagicOffset + arm64Magic.count))
        if head.starts(with: [0x1F, 0x8B]) {
            throw HelperError(.invalidArgument, "kernel: \(path) is gzip-compressed; Virtualization.framework needs an uncompressed arm64 Image (gunzip it)")
        }
        guard head.count == arm64MagicOffset + arm64Magic.count,
              Array(head[arm64MagicOffset...]) == arm64Magic else {
            throw HelperError(.invalidArgument, "kernel: \(path) is not an arm64 Linux Image (no ARM\\x64 magic at offset 0x38)")
        }
    }
}

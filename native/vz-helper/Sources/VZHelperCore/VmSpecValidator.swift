import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns `start` params into a VmSpec or throws the HelperError PROTOCOL.md §5.2 asks for:
/// `invalidArgument` naming the member, `notFound` for a missing file or directory,
/// `unsupported` for an arch or kind not in the features. Touches nothing on disk.
public struct VmSpecValidator {
    public let host: HostProfile
    public init(host: HostProfile) { self.host = host }

    public func validate(_ params: [String: JSONValue]) throws -> VmSpec {
        let f = host.features
        let name = try requiredString(params, "name")
        guard name.utf8.count >= 1, name.utf8.count <= 64, name.allSatisfy(Self.isNameChar) else {
            throw invalid("name: must be 1 to 64 of A-Z a-z 0-9 . _ -, got \(quoted(name))")
        }
        let arch = try optionalString(params, "arch") ?? host.hostArch
        guard f.guestArchs.contains(arch) else {
            throw HelperError(.unsupported, "arch: this helper boots \(f.guestArchs.joined(separator: ", ")) guests here, not \(quoted(arch))")
        }
        let kernel = try requiredString(params, "kernel")
        try checkRegularFile("kernel", kernel)
        let initrd = try requiredString(params, "initrd")
        try checkRegularFile("initrd", initrd)
        let cmdline = try requiredString(params, "cmdline")
        guard cmdline.utf8.count <= SpecLimits.maxCmdlineBytes else {
            throw invalid("cmdline: at most \(SpecLimits.maxCmdlineBytes) bytes, got \(cmdline.utf8.count)")
        }
        let cpus = try requiredInteger(params, "cpus", in: 1...max(1, f.maxCpus))
        let memoryMiB = try requiredInteger(params, "memoryMiB", in: SpecLimits.minMemoryMiB...max(SpecLimits.minMemoryMiB, f.maxMemoryMiB))
        let shares = try validateShares(params["shares"])
        let shareKind = try kind(params, "shareKind", offered: f.shareKinds)
        let channelKind = try kind(params, "channelKind", offered: f.channelKinds)
        let channelPath = try requiredString(params, "channelPath")
        try checkChannelPath("channelPath", channelPath)
        let guestPort = params["guestPort"] == nil ? 22 : try requiredInteger(params, "guestPort", in: 1...65535)
        let consoleLog = try requiredString(params, "consoleLog")
        try checkAbsolute("consoleLog", consoleLog)
        try checkDirectory("consoleLog", (consoleLog as NSString).deletingLastPathComponent, what: "directory")
        var st = stat()
        if stat(consoleLog, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG {
            throw invalid("consoleLog: \(consoleLog) exists and is not a regular file")
        }
        // The optional arrays after every other member, disks first (PROTOCOL.md §5.2.3).
        let disks = try validateDisks(params["disks"])
        let dataChannels = try validateDataChannels(params["dataChannels"], sshPort: guestPort,
                                                    taken: [channelPath, consoleLog])
        // Last, after every member's own check, so that each of those errors wins (the golden
        // transcripts use a placeholder kernel file that is not a real Image).
        if arch == "arm64" && host.requiresUncompressedArm64Kernel { try KernelImage.checkUncompressedArm64(kernel) }
        return VmSpec(name: name, arch: arch, kernel: kernel, initrd: initrd, cmdline: cmdline, cpus: cpus,
                      memoryMiB: memoryMiB, shares: shares, shareKind: shareKind, channelKind: channelKind,
                      channelPath: channelPath, guestPort: UInt32(guestPort), consoleLog: consoleLog,
                      disks: disks, dataChannels: dataChannels)
    }

    // MARK: members

    private func validateShares(_ raw: JSONValue?) throws -> [ShareSpec] {
        guard let raw else { throw invalid("shares: is required (an array, possibly empty)") }
        guard case .array(let items) = raw else { throw invalid("shares: must be an array, got \(raw.typeName)") }
        guard items.count <= SpecLimits.maxShares else {
            throw invalid("shares: at most \(SpecLimits.maxShares), got \(items.count)")
        }
        var seen = Set<String>()
        return try items.enumerated().map { index, item in
            let member = "shares[\(index)]"
            guard case .object(let o) = item else { throw invalid("\(member): must be an object, got \(item.typeName)") }
            let tag = try requiredString(o, "tag", prefix: member)
            guard Self.isValidTag(tag) else { throw invalid("\(member).tag: must match [a-z][a-z0-9_-]{0,30}, got \(quoted(tag))") }
            guard seen.insert(tag).inserted else { throw invalid("\(member).tag: \(quoted(tag)) is used twice") }
            let hostPath = try requiredString(o, "hostPath", prefix: member)
            try checkDirectory("\(member).hostPath", hostPath, what: "directory")
            guard case .bool(let readOnly)? = o["readOnly"] else {
                throw invalid("\(member).readOnly: must be a boolean, \(describe(o["readOnly"]))")
            }
            return ShareSpec(tag: tag, hostPath: hostPath, readOnly: readOnly)
        }
    }

    private func kind(_ p: [String: JSONValue], _ key: String, offered: [String]) throws -> String {
        guard let value = try optionalString(p, key) else {
            guard let first = offered.first else { throw HelperError(.unsupported, "\(key): this helper offers none") }
            return first
        }
        guard offered.contains(value) else {
            throw HelperError(.unsupported, "\(key): \(quoted(value)) is not offered here (offered: \(offered.joined(separator: ", ")))")
        }
        return value
    }

    /// The rules of a unix-socket endpoint (`channelPath`, `dataChannels[i].path`).
    func checkChannelPath(_ member: String, _ path: String) throws {
        try checkAbsolute(member, path)
        guard path.utf8.count <= SpecLimits.maxChannelPathBytes else {
            throw invalid("\(member): at most \(SpecLimits.maxChannelPathBytes) bytes (unix socket limit), got \(path.utf8.count)")
        }
        try checkDirectory(member, (path as NSString).deletingLastPathComponent, what: "parent directory")
        var st = stat()
        if lstat(path, &st) == 0 { throw invalid("\(member): something already exists at \(path)") }
    }

    // MARK: file checks (stat, so that symlinks to the right kind are accepted)

    func checkAbsolute(_ member: String, _ path: String) throws {
        guard path.hasPrefix("/") else { throw invalid("\(member): must be an absolute path, got \(quoted(path))") }
    }

    func checkRegularFile(_ member: String, _ path: String) throws {
        try checkAbsolute(member, path)
        var st = stat()
        guard stat(path, &st) == 0 else { throw notFound(member, path, errno) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw invalid("\(member): \(path) is not a regular file") }
    }

    func checkDirectory(_ member: String, _ path: String, what: String) throws {
        try checkAbsolute(member, path)
        var st = stat()
        guard stat(path, &st) == 0 else { throw notFound(member, path, errno, what: what) }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw invalid("\(member): \(path) is not a directory") }
    }

    private func notFound(_ member: String, _ path: String, _ err: Int32, what: String = "file") -> HelperError {
        let code: ErrorCode = (err == ENOENT || err == ENOTDIR) ? .notFound : .invalidArgument
        return HelperError(code, "\(member): \(what) \(path) \(err == ENOENT ? "does not exist" : String(cString: strerror(err)))",
                           cause: ["errno": .int(Int64(err)), "path": .string(path)])
    }

    // MARK: typed member access

    func requiredString(_ p: [String: JSONValue], _ key: String, prefix: String? = nil) throws -> String {
        let member = prefix.map { "\($0).\(key)" } ?? key
        guard case .string(let s)? = p[key] else { throw invalid("\(member): must be a string, \(describe(p[key]))") }
        return s
    }

    private func optionalString(_ p: [String: JSONValue], _ key: String) throws -> String? {
        guard let raw = p[key] else { return nil }
        guard case .string(let s) = raw else { throw invalid("\(key): must be a string, got \(raw.typeName)") }
        return s
    }

    func requiredInteger(_ p: [String: JSONValue], _ key: String, in range: ClosedRange<Int>) throws -> Int {
        guard let raw = p[key], let i = raw.integerValue else {
            throw invalid("\(key): must be an integer in \(range.lowerBound) … \(range.upperBound), \(describe(p[key]))")
        }
        guard i >= Int64(range.lowerBound), i <= Int64(range.upperBound) else {
            throw invalid("\(key): must be in \(range.lowerBound) … \(range.upperBound), got \(i)")
        }
        return Int(i)
    }

    func describe(_ v: JSONValue?) -> String { v.map { "got \($0.typeName)" } ?? "but it is missing" }
    func invalid(_ message: String) -> HelperError { HelperError(.invalidArgument, message) }
    func quoted(_ s: String) -> String { "\"\(s.prefix(80))\"" }

    static func isNameChar(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || c == "." || c == "_" || c == "-")
    }

    /// `[a-z][a-z0-9_-]{0,30}`; also satisfies VZ's limit (fewer than 36 bytes).
    public static func isValidTag(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard let first = bytes.first, bytes.count <= 31, (0x61...0x7A).contains(first) else { return false }
        return bytes.dropFirst().allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F || $0 == 0x2D }
    }
}

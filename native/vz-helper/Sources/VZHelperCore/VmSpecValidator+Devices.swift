import Foundation

/// The optional `disks` and `dataChannels` arrays of a VmSpec (PROTOCOL.md §5.2.1–§5.2.3).
/// Order, so every helper answers a malformed request alike: the array's type and length, then
/// each entry's members in table order with the uniqueness rules, and only then what this
/// helper offers (`unsupported`: a format not in `diskFormats`, a read-only disk without
/// `readOnlyDisks`, more channels than `features.dataChannels`).
extension VmSpecValidator {
    func validateDisks(_ raw: JSONValue?) throws -> [DiskSpec] {
        let items = try optionalArray(raw, "disks", max: SpecLimits.maxDisks)
        var seen = Set<String>()
        let disks = try items.enumerated().map { index, item -> DiskSpec in
            let member = "disks[\(index)]"
            guard case .object(let o) = item else { throw invalid("\(member): must be an object, got \(item.typeName)") }
            let id = try requiredString(o, "id", prefix: member)
            guard Self.isValidDiskID(id) else { throw invalid("\(member).id: must match [a-z][a-z0-9-]{0,19}, got \(quoted(id))") }
            guard seen.insert(id).inserted else { throw invalid("\(member).id: \(quoted(id)) is used twice") }
            let hostPath = try requiredString(o, "hostPath", prefix: member)
            try checkRegularFile("\(member).hostPath", hostPath)
            guard case .bool(let readOnly)? = o["readOnly"] else {
                throw invalid("\(member).readOnly: must be a boolean, \(describe(o["readOnly"]))")
            }
            let format = try requiredString(o, "format", prefix: member)
            return DiskSpec(id: id, hostPath: hostPath, readOnly: readOnly, format: format)
        }
        let f = host.features
        for (index, disk) in disks.enumerated() {
            guard f.diskFormats.contains(disk.format) else {
                let offered = f.diskFormats.isEmpty ? "none" : f.diskFormats.joined(separator: ", ")
                throw HelperError(.unsupported, "disks[\(index)].format: \(quoted(disk.format)) is not offered here (offered: \(offered))")
            }
            guard !disk.readOnly || f.readOnlyDisks else {
                throw HelperError(.unsupported, "disks[\(index)].readOnly: this helper cannot enforce read-only disks")
            }
        }
        return disks
    }

    /// `taken`: endpoint paths already claimed by the spec (the SSH channel, the console log).
    func validateDataChannels(_ raw: JSONValue?, sshPort: Int, taken: [String]) throws -> [DataChannelSpec] {
        let items = try optionalArray(raw, "dataChannels", max: SpecLimits.maxDataChannels)
        var names = Set<String>()
        var paths = Set(taken.map(Self.pathKey))
        var ports: Set<Int64> = [Int64(sshPort)]
        let channels = try items.enumerated().map { index, item -> DataChannelSpec in
            let member = "dataChannels[\(index)]"
            guard case .object(let o) = item else { throw invalid("\(member): must be an object, got \(item.typeName)") }
            let name = try requiredString(o, "name", prefix: member)
            guard Self.isValidChannelName(name) else {
                throw invalid("\(member).name: must match [a-z][a-z0-9-]{0,15}, got \(quoted(name))")
            }
            guard name != "ssh" else { throw invalid("\(member).name: \"ssh\" is the agent channel's name") }
            guard names.insert(name).inserted else { throw invalid("\(member).name: \(quoted(name)) is used twice") }
            let path = try requiredString(o, "path", prefix: member)
            try checkChannelPath("\(member).path", path)
            guard paths.insert(Self.pathKey(path)).inserted else {
                throw invalid("\(member).path: \(path) is already used by channelPath, consoleLog or another data channel")
            }
            let limit = SpecLimits.maxDataChannelPort
            guard let port = o["guestPort"]?.integerValue, port >= 1, port <= limit else {
                throw invalid("\(member).guestPort: must be an integer in 1 … \(limit), \(describeInteger(o["guestPort"]))")
            }
            guard ports.insert(port).inserted else {
                throw invalid("\(member).guestPort: \(port) is already used by the SSH channel or another data channel")
            }
            return DataChannelSpec(name: name, path: path, guestPort: UInt32(port))
        }
        let offered = host.features.dataChannels
        guard channels.count <= offered else {
            throw HelperError(.unsupported, "dataChannels: this helper offers \(offered) data channel\(offered == 1 ? "" : "s"), got \(channels.count)")
        }
        return channels
    }

    // MARK: helpers

    /// An optional array member: absent means empty; otherwise an array of at most `max` entries.
    private func optionalArray(_ raw: JSONValue?, _ key: String, max: Int) throws -> [JSONValue] {
        guard let raw else { return [] }
        guard case .array(let items) = raw else { throw invalid("\(key): must be an array, got \(raw.typeName)") }
        guard items.count <= max else { throw invalid("\(key): at most \(max), got \(items.count)") }
        return items
    }

    private func describeInteger(_ v: JSONValue?) -> String {
        guard let v else { return "but it is missing" }
        if let i = v.integerValue { return "got \(i)" }
        return "got \(v.typeName)"
    }

    /// Two spellings of one path (`/a//b`, `/a/./b`) count as the same endpoint.
    private static func pathKey(_ path: String) -> String { (path as NSString).standardizingPath }

    /// `[a-z][a-z0-9-]{0,19}`: also fits VZ's block device identifier (ASCII, at most 20 bytes).
    public static func isValidDiskID(_ id: String) -> Bool { matchesLowerName(id, maxBytes: 20) }

    /// `[a-z][a-z0-9-]{0,15}`.
    public static func isValidChannelName(_ name: String) -> Bool { matchesLowerName(name, maxBytes: 16) }

    private static func matchesLowerName(_ s: String, maxBytes: Int) -> Bool {
        let bytes = Array(s.utf8)
        guard let first = bytes.first, bytes.count <= maxBytes, (0x61...0x7A).contains(first) else { return false }
        return bytes.dropFirst().allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }
    }
}

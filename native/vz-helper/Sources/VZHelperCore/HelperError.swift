import Foundation

/// The closed set of protocol error codes (PROTOCOL.md §3.1).
public enum ErrorCode: String, Codable, CaseIterable, Sendable {
    case invalidArgument, unsupported, notFound, invalidState, timeout, hypervisorUnavailable, `internal`
}

/// A protocol error: `{code, message, cause?}`. `message` is one sentence naming the real cause;
/// `cause` holds native detail (errno, nsError...). Thrown by validation and backends alike.
public struct HelperError: Error, Equatable, Codable, Sendable {
    public var code: ErrorCode
    public var message: String
    public var cause: JSONValue?

    public init(_ code: ErrorCode, _ message: String, cause: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// An error for a failed POSIX call: names the call and the path, keeps errno in `cause`.
    public static func posix(_ code: ErrorCode, _ what: String, syscall: String, errno err: Int32, path: String? = nil) -> HelperError {
        var cause: [String: JSONValue] = ["errno": .int(Int64(err)), "syscall": .string(syscall)]
        if let path { cause["path"] = .string(path) }
        return HelperError(code, "\(what): \(syscall) failed: \(String(cString: strerror(err)))", cause: .object(cause))
    }

    /// An error wrapping an NSError from a native framework, kept in `cause.nsError`.
    public static func native(_ code: ErrorCode, _ what: String, error: Error) -> HelperError {
        let ns = error as NSError
        let detail: JSONValue = ["domain": .string(ns.domain), "code": .int(Int64(ns.code)),
                                 "description": .string(ns.localizedDescription)]
        return HelperError(code, "\(what): \(ns.localizedDescription)", cause: ["nsError": detail])
    }

    /// The error object as it goes on the wire (PROTOCOL.md §3.1).
    public var json: JSONValue {
        var members: [String: JSONValue] = ["code": .string(code.rawValue), "message": .string(message)]
        if let cause { members["cause"] = cause }
        return .object(members)
    }
}

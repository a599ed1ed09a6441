import Foundation

/// A well-formed request: an id, a method name and params (an empty object when omitted).
public struct Request: Equatable {
    public var id: Int64
    public var method: String
    public var params: [String: JSONValue]
}

/// What a framed line turned out to be: a request, or an error reply to send at once.
public enum ParsedLine: Equatable {
    case request(Request)
    case rejected(id: Int64?, HelperError)
}

/// Classifies one line per PROTOCOL.md §3: not JSON / not an object / no valid id → error with
/// id null; valid id but bad method or params → error with that id. Unknown members are ignored.
public func parseRequestLine(_ line: Data) -> ParsedLine {
    let value: JSONValue
    do {
        value = try JSONValue.parse(line)
    } catch {
        return .rejected(id: nil, HelperError(.invalidArgument, "the line is not valid JSON"))
    }
    guard case .object(let members) = value else {
        return .rejected(id: nil, HelperError(.invalidArgument, "a message must be a JSON object, got \(value.typeName)"))
    }
    guard let rawId = members["id"] else {
        return .rejected(id: nil, HelperError(.invalidArgument, "the request has no id"))
    }
    guard case .int(let id) = rawId, id >= 0, id <= JSONValue.maxSafeInteger else {
        return .rejected(id: nil, HelperError(.invalidArgument, "id must be an integer in 0 … 2^53-1"))
    }
    guard case .string(let method)? = members["method"], !method.isEmpty else {
        let what = members["method"].map { $0 == "" ? "got an empty string" : "got \($0.typeName)" } ?? "it is missing"
        return .rejected(id: id, HelperError(.invalidArgument, "method must be a non-empty string; \(what)"))
    }
    var params: [String: JSONValue] = [:]
    if let rawParams = members["params"] {
        guard case .object(let p) = rawParams else {
            return .rejected(id: id, HelperError(.invalidArgument, "params must be an object, got \(rawParams.typeName)"))
        }
        params = p
    }
    return .request(Request(id: id, method: method, params: params))
}

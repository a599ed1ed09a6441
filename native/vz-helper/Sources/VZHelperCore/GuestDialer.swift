import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Opens a stream to the guest's port, retrying until a deadline: the guest's server listens
/// only some time after the VM runs, and until then each attempt fails (or, per Apple's docs
/// for connect(toPort:), may never complete — hence the per-attempt timeout). An attempt that
/// fails with `invalidState` (the VM is gone) ends the dial at once.
public final class GuestDialer {
    /// One attempt: calls back once with a connected fd (owned by the receiver) or an error.
    public typealias Attempt = (_ completion: @escaping (Result<Int32, HelperError>) -> Void) -> Void

    private let attempt: Attempt
    private let deadline: TimeInterval
    private let attemptTimeout: TimeInterval
    private let retryInterval: TimeInterval
    private let queue = DispatchQueue(label: "vivarium.vz-helper.dialer")

    public init(deadline: TimeInterval = 30, attemptTimeout: TimeInterval = 3, retryInterval: TimeInterval = 0.1,
                attempt: @escaping Attempt) {
        self.attempt = attempt
        self.deadline = deadline
        self.attemptTimeout = attemptTimeout
        self.retryInterval = retryInterval
    }

    /// Dials until success or the deadline; `completion` runs exactly once. A connection that
    /// arrives after its attempt timed out is closed, never leaked.
    public func dial(completion: @escaping (Result<Int32, HelperError>) -> Void) {
        let end = DispatchTime.now() + deadline
        queue.async { self.try(until: end, attempts: 1, completion: completion) }
    }

    private func `try`(until end: DispatchTime, attempts: Int, completion: @escaping (Result<Int32, HelperError>) -> Void) {
        var settled = false   // touched only on `queue`
        let settle: (Result<Int32, HelperError>?) -> Void = { [self] result in
            guard !settled else {
                if case .success(let fd)? = result { close(fd) }   // late success after a timeout
                return
            }
            settled = true
            if case .success(let fd)? = result { return completion(.success(fd)) }
            let lastError = result.flatMap { if case .failure(let e) = $0 { return e } else { return nil } }
            if let lastError, lastError.code == .invalidState {
                return completion(.failure(lastError))   // no VM any more: retrying cannot help
            }
            if DispatchTime.now() + retryInterval >= end {
                return completion(.failure(HelperError(.timeout,
                    "guest port did not accept a connection within \(Int(deadline)) s after \(attempts) attempts" +
                    (lastError.map { "; last error: \($0.message)" } ?? ""), cause: lastError?.cause)))
            }
            queue.asyncAfter(deadline: .now() + retryInterval) { self.try(until: end, attempts: attempts + 1, completion: completion) }
        }
        attempt { result in self.queue.async { settle(result) } }
        queue.asyncAfter(deadline: .now() + attemptTimeout) { settle(nil) }
    }
}

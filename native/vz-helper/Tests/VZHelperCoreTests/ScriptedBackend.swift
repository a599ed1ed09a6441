import Foundation
@testable import VZHelperCore

/// A test double for the state machine: it runs no VM. It follows the VMBackend contracts
/// (documented in VMBackend.swift) so Session's protocol logic can be driven through every path.
final class ScriptedBackend: VMBackend {
    enum StartBehaviour { case succeed, fail(HelperError), hang }
    var onUnexpectedExit: ((VMExit) -> Void)?
    var available = true
    var startBehaviour = StartBehaviour.succeed
    var guestObeysRequestStop = true
    private(set) var stopCalls: [(force: Bool, timeoutMs: Int)] = []
    private(set) var startedSpecs: [VmSpec] = []
    private let q = DispatchQueue(label: "scripted-backend")
    private var pendingStart: ((Result<StartedVM, HelperError>) -> Void)?
    private var running = false

    func describe() -> BackendDescription {
        BackendDescription(helper: "vz-helper", version: "test", available: available,
                           unavailableReason: available ? nil : "scripted: no hypervisor", host: vzLikeHost())
    }

    func start(_ spec: VmSpec, completion: @escaping (Result<StartedVM, HelperError>) -> Void) {
        q.async { [self] in
            startedSpecs.append(spec)
            switch startBehaviour {
            case .succeed:
                running = true
                let data = spec.dataChannels.map { DataChannelInfo(name: $0.name, kind: "vsock", path: $0.path) }
                completion(.success(StartedVM(accelerator: "vz", channel: ChannelInfo(kind: "vsock", path: spec.channelPath), dataChannels: data)))
            case .fail(let error): completion(.failure(error))
            case .hang: pendingStart = completion
            }
        }
    }

    func stop(force: Bool, timeoutMs: Int, completion: @escaping (StopOutcome) -> Void) {
        q.async { [self] in
            stopCalls.append((force, timeoutMs))
            var hadVM = running
            if let start = pendingStart {
                pendingStart = nil
                hadVM = true
                start(.failure(HelperError(.invalidState, "aborted")))
            }
            running = false
            let forced = force || !guestObeysRequestStop
            completion(StopOutcome(forced: hadVM && forced, hadVM: hadVM))
        }
    }

    /// The guest powers off (or crashes) by itself.
    func guestEnds(_ exit: VMExit) {
        q.async { [self] in
            running = false
            onUnexpectedExit?(exit)
        }
    }
}

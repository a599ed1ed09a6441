import Foundation
import VZHelperCore
#if canImport(Virtualization)
import Virtualization
#else
import VirtualizationShim
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs one VM with Virtualization.framework, honouring the VMBackend contracts.
/// Every VZ call and every member below is used only on `vmQueue` (a serial queue): Apple's
/// docs for init(configuration:queue:) require all VM operations on the queue given there, and
/// the VM calls its completion handlers and delegate on it.
final class VZBackend: VMBackend {
    var onUnexpectedExit: ((VMExit) -> Void)?
    private let vmQueue = DispatchQueue(label: "vivarium.vz-helper.vm")

    private var machine: VZVirtualMachine?
    private var watcher: MachineDelegate?
    private let endpoints = ChannelEndpoints(log: Log.info)   // the SSH channel's, then the data channels
    private var consoleLog: FileHandle?
    private var createdConsoleLog: String?   // set when this start created the file (not appended)
    private var pendingStart: ((Result<StartedVM, HelperError>) -> Void)?
    private var stopWaiters: [(StopOutcome) -> Void] = []
    private var graceTimer: DispatchWorkItem?
    private var forceRequested = false

    func describe() -> BackendDescription { VZHost.describe() }

    func start(_ spec: VmSpec, completion: @escaping (Result<StartedVM, HelperError>) -> Void) {
        vmQueue.async { self.startOnQueue(spec, completion) }
    }

    func stop(force: Bool, timeoutMs: Int, completion: @escaping (StopOutcome) -> Void) {
        vmQueue.async { self.stopOnQueue(force: force, timeoutMs: timeoutMs, completion) }
    }

    // MARK: start

    private func startOnQueue(_ spec: VmSpec, _ completion: @escaping (Result<StartedVM, HelperError>) -> Void) {
        do {
            let log = try openConsoleLog(spec.consoleLog)
            consoleLog = log
            let config = try VZConfigurationFactory.make(spec, consoleLog: log)
            // The endpoints exist before the guest runs; clients dial with retries until it listens.
            try endpoints.open(ChannelEndpoints.forSpec(spec)) { [weak self] port, done in
                self?.dialGuest(port: port, completion: done) ?? done(.failure(HelperError(.invalidState, "the VM is gone")))
            }
            let vm = VZVirtualMachine(configuration: config, queue: vmQueue)
            let watcher = MachineDelegate(backend: self)
            vm.delegate = watcher
            self.watcher = watcher
            machine = vm
            pendingStart = completion
            forceRequested = false
            vm.start { [weak self] result in self?.vmStartFinished(vm, result, spec: spec) }
        } catch {
            teardown()
            discardUnusedConsoleLog()
            completion(.failure(error as? HelperError ?? HelperError.native(.internal, "start", error: error)))
        }
    }

    private func vmStartFinished(_ vm: VZVirtualMachine, _ result: Result<Void, Error>, spec: VmSpec) {
        guard vm === machine else { return }
        if forceRequested {
            // A stop arrived while starting (its start reply is already sent); end what exists now.
            if case .success = result { return forceStop() }
            return finishStop(forced: true)
        }
        guard let completion = pendingStart else { return }
        pendingStart = nil
        switch result {
        case .success:
            let data = spec.dataChannels.map { DataChannelInfo(name: $0.name, kind: "vsock", path: $0.path) }
            completion(.success(StartedVM(accelerator: "vz", channel: ChannelInfo(kind: "vsock", path: spec.channelPath), dataChannels: data)))
        case .failure(let error):
            teardown()
            discardUnusedConsoleLog()
            completion(.failure(HelperError.native(.internal, "VZVirtualMachine.start failed", error: error)))
        }
    }

    private func openConsoleLog(_ path: String) throws -> FileHandle {
        createdConsoleLog = nil
        var fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o600)
        if fd >= 0 {
            createdConsoleLog = path
        } else if errno == EEXIST {
            fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        }
        guard fd >= 0 else { throw HelperError.posix(.invalidArgument, "consoleLog \(path)", syscall: "open", errno: errno, path: path) }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    /// A failed start leaves nothing behind (PROTOCOL.md §5.2): remove the console log if this
    /// start created it and nothing was written to it.
    private func discardUnusedConsoleLog() {
        defer { createdConsoleLog = nil }
        guard let path = createdConsoleLog else { return }
        var st = stat()
        if stat(path, &st) == 0 && st.st_size == 0 { unlink(path) }
    }

    // MARK: stop

    private func stopOnQueue(force: Bool, timeoutMs: Int, _ completion: @escaping (StopOutcome) -> Void) {
        if let start = pendingStart {
            // Contract: the aborted start's completion comes before the stop's.
            pendingStart = nil
            start(.failure(HelperError(.invalidState, "start: stopped while starting")))
        }
        guard let vm = machine else {
            teardown()
            return completion(StopOutcome(forced: false, hadVM: false))
        }
        stopWaiters.append(completion)
        if force || !vm.canRequestStop { return forceStop() }
        guard graceTimer == nil else { return }   // a graceful stop is already waiting
        do {
            try vm.requestStop()
        } catch {
            Log.info("requestStop failed (\((error as NSError).localizedDescription)); forcing")
            return forceStop()
        }
        let timer = DispatchWorkItem { [weak self] in self?.forceStop() }
        graceTimer = timer
        vmQueue.asyncAfter(deadline: .now() + .milliseconds(timeoutMs), execute: timer)
    }

    /// Ends the VM now. While the VM is still starting VZ cannot stop it; the start's
    /// completion then calls back here.
    private func forceStop() {
        graceTimer?.cancel()
        graceTimer = nil
        forceRequested = true
        guard let vm = machine else { return finishStop(forced: true) }
        if vm.canStop {
            vm.stop { [weak self] error in
                if let error { Log.info("VZVirtualMachine.stop: \((error as NSError).localizedDescription)") }
                guard let self, vm === self.machine else { return }
                self.finishStop(forced: true)
            }
        } else if vm.state == .stopped || vm.state == .error {
            finishStop(forced: true)
        }
    }

    private func finishStop(forced: Bool) {
        teardown()
        let waiters = stopWaiters
        stopWaiters = []
        waiters.forEach { $0(StopOutcome(forced: forced, hadVM: true)) }
    }

    // MARK: delegate events (on vmQueue)

    fileprivate func machineEnded(_ vm: VZVirtualMachine, error: Error?) {
        guard vm === machine else { return }
        if !stopWaiters.isEmpty {
            // The guest obeyed requestStop (or crashed while we were stopping it).
            return finishStop(forced: forceRequested)
        }
        if let start = pendingStart {
            pendingStart = nil
            teardown()
            discardUnusedConsoleLog()
            return start(.failure(HelperError.native(.internal, "the VM stopped while starting", error: error ?? HelperError(.internal, "guest stopped"))))
        }
        teardown()
        if let error {
            onUnexpectedExit?(VMExit(reason: .crashed, message: "Virtualization.framework stopped the VM: \((error as NSError).localizedDescription)"))
        } else {
            onUnexpectedExit?(VMExit(reason: .poweroff, message: "the guest powered off"))
        }
    }

    // MARK: channels

    /// One guest connection per client: connect(toPort:) retried until the guest listens. The
    /// fd is dup'ed because VZVirtioSocketConnection closes its own when it goes away
    /// (BACKENDS.md §1.3).
    private func dialGuest(port: UInt32, completion: @escaping (Result<Int32, HelperError>) -> Void) {
        let dialer = GuestDialer { [weak self] done in
            guard let self else { return done(.failure(HelperError(.invalidState, "the helper is stopping"))) }
            self.vmQueue.async {
                guard let vm = self.machine, let device = vm.socketDevices.first as? VZVirtioSocketDevice else {
                    return done(.failure(HelperError(.invalidState, "no running VM to connect to")))
                }
                device.connect(toPort: port) { result in
                    switch result {
                    case .success(let connection):
                        let fd = dup(connection.fileDescriptor)
                        connection.close()
                        done(fd >= 0 ? .success(fd) : .failure(HelperError.posix(.internal, "vsock connection", syscall: "dup", errno: errno)))
                    case .failure(let error):
                        done(.failure(HelperError.native(.internal, "VZVirtioSocketDevice.connect(toPort: \(port))", error: error)))
                    }
                }
            }
        }
        dialer.dial(completion: completion)
    }

    /// Removes everything this VM created except the console log's contents.
    private func teardown() {
        graceTimer?.cancel()
        graceTimer = nil
        endpoints.closeAll()
        machine?.delegate = nil
        machine = nil
        watcher = nil
        try? consoleLog?.close()
        consoleLog = nil
    }
}

/// Forwards VZVirtualMachineDelegate callbacks (delivered on the VM's queue) to the backend.
private final class MachineDelegate: NSObject, VZVirtualMachineDelegate {
    weak var backend: VZBackend?
    init(backend: VZBackend) { self.backend = backend }

    func guestDidStop(_ virtualMachine: VZVirtualMachine) {
        backend?.machineEnded(virtualMachine, error: nil)
    }

    func virtualMachine(_ virtualMachine: VZVirtualMachine, didStopWithError error: Error) {
        backend?.machineEnded(virtualMachine, error: error)
    }
}

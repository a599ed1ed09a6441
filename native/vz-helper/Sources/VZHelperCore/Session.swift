import Foundation

/// The protocol side of a helper: call order, state machine, replies and events (PROTOCOL.md
/// §3–§6). It owns no VM; a `VMBackend` does. Every member is touched only on `queue`
/// (serial), so backend callbacks from any thread are hopped onto it first.
public final class Session {
    public let queue = DispatchQueue(label: "vivarium.vz-helper.session")
    private let backend: VMBackend
    private let emit: (JSONValue) -> Void
    private let startDeadline: TimeInterval

    private enum StartCancel { case none, stopRequest, timeout, shutdown }

    private var greeted = false
    private var state: VmState = .stopped
    private var startInFlight: Int64?
    private var startCancel = StartCancel.none
    private var stopRequestInFlight: Int64?
    private var backendStopInProgress = false
    private var stopWaiters: [(StopOutcome) -> Void] = []
    private var finishStopAfterStart: (() -> Void)?
    private var exitSeenDuringStop: VMExit?
    private var vm: StartedVM?
    private var bootStartedAt: DispatchTime?
    private var bootGeneration = 0
    private var shuttingDown = false

    /// `emit` receives every outgoing message in order; it is called on `queue`.
    public init(backend: VMBackend, startDeadline: TimeInterval = 30, emit: @escaping (JSONValue) -> Void) {
        self.backend = backend
        self.emit = emit
        self.startDeadline = startDeadline
        backend.onUnexpectedExit = { [weak self] exit in
            guard let self else { return }
            self.queue.async { self.vmEndedByItself(exit) }
        }
    }

    /// Handles one framed input; may be called from any thread.
    public func receive(_ input: FramedInput) {
        queue.async { self.handle(input) }
    }

    /// Stdin EOF or a signal: force-stops the VM (if any), then calls `completion` on `queue`.
    public func shutdown(completion: @escaping () -> Void) {
        queue.async {
            self.shuttingDown = true
            if self.state == .stopped && self.startInFlight == nil && !self.backendStopInProgress {
                return completion()
            }
            if self.startInFlight != nil { self.startCancel = .shutdown }
            // No `state: stopping` here: the golden transcripts (stdin-eof, restart) expect the
            // forced `exit` and `state: stopped` right after EOF.
            self.stopVM(force: true, timeoutMs: 0, announce: false) { _ in completion() }
        }
    }

    // MARK: dispatch

    private func handle(_ input: FramedInput) {
        switch input {
        case .oversized:
            emit(Reply.failure(id: nil, HelperError(.invalidArgument,
                "the line exceeds \(LineFramer.defaultMaxLineBytes) bytes and was discarded")))
        case .line(let data):
            switch parseRequestLine(data) {
            case .rejected(let id, let error): emit(Reply.failure(id: id, error))
            case .request(let request): dispatch(request)
            }
        }
    }

    private func dispatch(_ r: Request) {
        if r.method == "hello" { return hello(r) }
        guard greeted else {
            return fail(r, HelperError(.invalidState, "\(r.method): hello must be the first request"))
        }
        switch r.method {
        case "start": start(r)
        case "stop": stop(r)
        case "status": status(r)
        default: fail(r, HelperError(.unsupported, "unknown method \"\(r.method.prefix(80))\""))
        }
    }

    // MARK: methods

    private func hello(_ r: Request) {
        guard let raw = r.params["protocol"], let version = raw.integerValue else {
            return fail(r, HelperError(.invalidArgument, "hello: protocol must be an integer, \(r.params["protocol"].map { "got \($0.typeName)" } ?? "but it is missing")"))
        }
        guard supportedProtocolVersions.contains(version) else {
            return fail(r, HelperError(.unsupported, "hello: protocol \(version) is not spoken here (supported: \(supportedProtocolVersions.map(String.init).joined(separator: ", ")))",
                                       cause: ["supported": .array(supportedProtocolVersions.map { .int($0) })]))
        }
        greeted = true
        let d = backend.describe()
        emit(Reply.success(id: r.id, encoding: HelloResult(helper: d.helper, version: d.version, hostArch: d.host.hostArch,
                                                           available: d.available, unavailableReason: d.available ? nil : d.unavailableReason,
                                                           features: d.host.features)))
    }

    private func start(_ r: Request) {
        if startInFlight != nil || stopRequestInFlight != nil || backendStopInProgress {
            return fail(r, HelperError(.invalidState, "start: a \(startInFlight != nil ? "start" : "stop") is already in flight"))
        }
        guard state == .stopped else {
            return fail(r, HelperError(.invalidState, "start: the VM is \(state.rawValue); start needs it stopped"))
        }
        guard !shuttingDown else { return fail(r, HelperError(.invalidState, "start: the helper is shutting down")) }
        let d = backend.describe()
        let spec: VmSpec
        do { spec = try VmSpecValidator(host: d.host).validate(r.params) } catch let e as HelperError {
            return fail(r, e)
        } catch { return fail(r, HelperError(.internal, "start: \(error)")) }
        guard d.available else {
            return fail(r, HelperError(.hypervisorUnavailable, "start: \(d.unavailableReason ?? "the hypervisor cannot be used on this machine")"))
        }
        startInFlight = r.id
        startCancel = .none
        bootGeneration += 1
        let generation = bootGeneration
        bootStartedAt = .now()
        setState(.starting)
        queue.asyncAfter(deadline: .now() + startDeadline) { [weak self] in
            guard let self, self.bootGeneration == generation, self.startInFlight == r.id, self.startCancel == .none else { return }
            self.startCancel = .timeout
            self.stopVM(force: true, timeoutMs: 0) { _ in }
        }
        backend.start(spec) { [weak self] result in
            guard let self else { return }
            self.queue.async { self.startFinished(r.id, generation, result) }
        }
    }

    private func startFinished(_ id: Int64, _ generation: Int, _ result: Result<StartedVM, HelperError>) {
        guard startInFlight == id, bootGeneration == generation else { return }
        startInFlight = nil
        switch (startCancel, result) {
        case (.none, .success(let started)):
            vm = started
            emit(Event.channel(started.channel))
            setState(.running)
            emit(Reply.success(id: id, encoding: StartResult(state: .running, accelerator: started.accelerator,
                                                             channel: started.channel, pid: started.pid,
                                                             dataChannels: started.dataChannels.isEmpty ? nil : started.dataChannels)))
        case (.none, .failure(let error)):
            clearVM()
            setState(.stopped)
            emit(Reply.failure(id: id, error))
        case (.stopRequest, _), (.shutdown, _):
            emit(Reply.failure(id: id, HelperError(.invalidState, "start: stopped while starting")))
        case (.timeout, _):
            emit(Reply.failure(id: id, HelperError(.timeout, "start: the hypervisor did not report the VM running within \(Int(startDeadline)) s")))
        }
        if let finish = finishStopAfterStart {
            finishStopAfterStart = nil
            finish()
        }
    }

    private func stop(_ r: Request) {
        guard stopRequestInFlight == nil else {
            return fail(r, HelperError(.invalidState, "stop: a stop is already in flight"))
        }
        var force = false
        if let raw = r.params["force"] {
            guard case .bool(let b) = raw else { return fail(r, HelperError(.invalidArgument, "force: must be a boolean, got \(raw.typeName)")) }
            force = b
        }
        var timeoutMs = 10_000
        if let raw = r.params["timeoutMs"] {
            guard let t = raw.integerValue, t >= 0, t <= Int64(SpecLimits.maxStopTimeoutMs) else {
                return fail(r, HelperError(.invalidArgument, "timeoutMs: must be an integer in 0 … \(SpecLimits.maxStopTimeoutMs)"))
            }
            timeoutMs = Int(t)
        }
        if state == .stopped && startInFlight == nil && !backendStopInProgress {
            return emit(Reply.success(id: r.id, encoding: StopResult(state: .stopped, forced: false)))
        }
        if startInFlight != nil && startCancel == .none {
            startCancel = .stopRequest
            force = true   // the guest is not up yet: nothing to ask
        }
        stopRequestInFlight = r.id
        stopVM(force: force, timeoutMs: timeoutMs) { [weak self] outcome in
            self?.stopRequestInFlight = nil
            self?.emit(Reply.success(id: r.id, encoding: StopResult(state: .stopped, forced: outcome.forced)))
        }
    }

    private func status(_ r: Request) {
        var result = StatusResult(state: state)
        if state != .stopped {
            result.accelerator = vm?.accelerator ?? backend.describe().host.features.accelerators.first
            result.pid = vm?.pid
            if let t0 = bootStartedAt {
                result.uptimeMs = Int((DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1_000_000)
            }
        }
        emit(Reply.success(id: r.id, encoding: result))
    }

    // MARK: VM lifecycle

    /// Asks the backend to stop (once; later callers wait for the same outcome, and a forced
    /// request escalates a graceful one). Finishes with `exit`, `state: stopped`, then `then`.
    private func stopVM(force: Bool, timeoutMs: Int, announce: Bool = true, then: @escaping (StopOutcome) -> Void) {
        stopWaiters.append(then)
        if backendStopInProgress && !force { return }
        backendStopInProgress = true
        if announce { setState(.stopping) }
        backend.stop(force: force, timeoutMs: timeoutMs) { [weak self] outcome in
            guard let self else { return }
            self.queue.async { self.backendStopped(outcome) }
        }
    }

    private func backendStopped(_ outcome: StopOutcome) {
        guard backendStopInProgress else { return }   // a later completion of an escalated stop
        let finish = { [self] in
            backendStopInProgress = false
            if outcome.hadVM {
                emit(Event.exit(VMExit(reason: outcome.forced ? .forced : .stopped,
                                       message: outcome.forced ? "the VM was forced off" : "the guest stopped when asked")))
            } else if let exit = exitSeenDuringStop {
                emit(Event.exit(exit))
            }
            clearVM()
            setState(.stopped)
            let waiters = stopWaiters
            stopWaiters = []
            waiters.forEach { $0(outcome) }
        }
        // The start reply MUST precede the stop reply; wait for the start's completion if needed.
        if startInFlight != nil { finishStopAfterStart = finish } else { finish() }
    }

    private func vmEndedByItself(_ exit: VMExit) {
        if backendStopInProgress { exitSeenDuringStop = exit; return }
        guard state == .running, startInFlight == nil else { return }
        emit(Event.exit(exit))
        clearVM()
        setState(.stopped)
    }

    private func clearVM() {
        vm = nil
        bootStartedAt = nil
        exitSeenDuringStop = nil
    }

    private func setState(_ s: VmState) {
        guard s != state else { return }
        state = s
        emit(Event.state(s))
    }

    private func fail(_ r: Request, _ error: HelperError) {
        emit(Reply.failure(id: r.id, error))
    }
}

/**
 * One workspace's VM: the state machine stopped → starting → running → stopping → stopped,
 * or → failed (with a reason) from starting/running. It owns the helper process and the one
 * guest connection of each boot. `start` while starting joins the same boot; `start` after a
 * failure is the restart on request. Graceful stop = `poweroff -f` over SSH, then helper stop.
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { VivError, toVivError } from '../../shared/errors.js';
import type { VmSnapshot, VmState } from '../../shared/contract-schemas.js';
import { guestCmdline } from '../image/vm-segment.js';
import type { GuestImage } from '../image/guest-image.js';
import { GuestConnection } from '../guest/guest-connection.js';
import { endpointStyleFor, type HelperFactory, type HelperPort } from './helper-process.js';
import type { Accelerator } from './helper-protocol.js';
import { channelPaths, cleanupBoot, prepareBoot, type BootFiles } from './vm-runtime.js';
import { checkDeviceFeatures, dataChannelSpecs, publishedDataChannels, type DataChannelInfo, type DiskSpec } from './vm-devices.js';

export type { DataChannelInfo, DiskSpec } from './vm-devices.js';
export { dataChannelGuestPort } from './vm-devices.js';

/** What a boot needs besides the image. */
export interface VmLaunch {
  /** The folder shared at /workspace (canonical; already verified by consent). */
  sharePath: string;
  readOnly: boolean;
  cpus: number;
  memoryMiB: number;
  /** Block devices, seen by the guest in this order (/dev/vda... on QEMU and VZ). */
  disks?: DiskSpec[];
  /**
   * Names of data channels (byte streams beside SSH, PROTOCOL.md §5.2.2), e.g. ['egress'].
   * The instance places each endpoint in the boot's private runtime dir; ask
   * `dataChannel(name)` / `dataChannelPath(name)` once running. Guest side: the virtio-serial
   * port `vivarium.<name>` (/dev/virtio-ports/vivarium.<name>) or vsock port
   * `dataChannelGuestPort(name, i)`.
   */
  dataChannels?: string[];
  /** Extra kernel parameters, one word each (e.g. 'vivarium.root=standard', 'vivarium.egress=1'). */
  cmdlineExtra?: string[];
  /**
   * Data channels worth having but not required (the egress relay: without it egress falls back
   * to the SSH forward). Each is asked for only when the helper has a data channel left for it,
   * and then its kernel parameters are added; `dataChannel(name)` says whether it was.
   */
  optionalDataChannels?: { name: string; cmdline: string[] }[];
}

/** Deadlines of one boot; TCG on 2 busy cores is slow, so they are generous. */
export interface VmTimeouts {
  connectMs: number;
  stopMs: number;
}

/** Progress of a boot, for `viv`'s stderr and the UI. */
export type BootPhase = 'preparing' | 'helper' | 'booting' | 'connecting' | 'ready';

/**
 * A VM. Events: `changed` (snapshot), `phase` (boot progress with elapsed ms), `connected`
 * (every new guest connection, at boot and after a reconnect: attach forwards there).
 */
export class VmInstance extends EventEmitter<{ changed: [VmSnapshot]; phase: [BootPhase, number]; connected: [GuestConnection] }> {
  private state: VmState = 'stopped';
  private reason: string | null = null;
  private bootMs: number | null = null;
  private startedAt: number | null = null;
  private helper: HelperPort | null = null;
  private files: BootFiles | null = null;
  private conn: GuestConnection | null = null;
  private starting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private connecting: Promise<GuestConnection> | null = null;
  private endpoint: { socketPath: string; privateKey: string; hostPublicKey: string } | null = null;
  private dataChannels: DataChannelInfo[] = [];
  /** The accelerator of the current boot (tcg, kvm...). */
  accelerator: Accelerator | null = null;

  constructor(
    readonly id: string,
    private readonly vmDir: string,
    private readonly spawnHelper: HelperFactory,
    private readonly loadImage: () => Promise<GuestImage>,
    private readonly timeouts: VmTimeouts = { connectMs: 90_000, stopMs: 10_000 },
    /** Opens the guest connection; replaced only by unit tests of the state machine. */
    private readonly openGuest: typeof GuestConnection.open = (ep, o) => GuestConnection.open(ep, o),
  ) {
    super();
  }

  /** The current state. */
  snapshot(): VmSnapshot {
    return { state: this.state, reason: this.reason, bootMs: this.bootMs, startedAt: this.startedAt };
  }

  private set(state: VmState, reason: string | null = null): void {
    this.state = state;
    this.reason = reason;
    this.emit('changed', this.snapshot());
  }

  /** Boots the VM (or joins the boot in progress). Resolves once the guest answers over SSH. */
  async start(launch: VmLaunch): Promise<void> {
    if (this.state === 'running') return;
    if (this.stopping) await this.stopping;
    if (this.starting) return this.starting;
    this.starting = this.boot(launch).finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  private async boot(launch: VmLaunch): Promise<void> {
    const t0 = Date.now();
    const phase = (p: BootPhase): void => void this.emit('phase', p, Date.now() - t0);
    this.bootMs = null;
    this.startedAt = null;
    this.set('starting');
    const exited = new AbortController();
    try {
      phase('preparing');
      const image = await this.loadImage();
      const files = await prepareBoot(this.vmDir, this.id, image.initrd);
      this.files = files;
      phase('helper');
      const helper = await this.spawnHelper();
      this.helper = helper;
      const hello = await helper.hello();
      if (!hello.available) throw new VivError('hypervisorUnavailable', hello.unavailableReason ?? `${hello.helper} cannot run VMs on this machine.`);
      const f = hello.features;
      if (!f.guestArchs.includes(image.arch)) throw new VivError('unsupported', `The helper cannot boot ${image.arch} guests here (it offers ${f.guestArchs.join(', ') || 'none'}).`);
      if (launch.readOnly && !f.readOnlyShares) throw new VivError('unsupported', 'The helper cannot enforce read-only shares on this machine; refusing to share the folder read-only.');
      // Best first (PROTOCOL.md §5.1); kinds this version does not know were skipped when parsing.
      const shareKind = f.shareKinds[0];
      const channelKind = f.channelKinds[0];
      const accelerator = f.accelerators[0];
      if (!shareKind || !channelKind || !accelerator) {
        throw new VivError('unsupported', `The VM helper ${hello.helper} offers no ${!shareKind ? 'folder share' : !channelKind ? 'agent channel' : 'accelerator'} kind that this version of Vivarium knows.`);
      }
      // Features first: a helper that predates disks or data channels would ignore them.
      const required = launch.dataChannels ?? [];
      const optional = (launch.optionalDataChannels ?? []).filter((c) => !required.includes(c.name)).slice(0, Math.max(0, f.dataChannels - required.length));
      const channelNames = [...required, ...optional.map((c) => c.name)];
      const disks = checkDeviceFeatures(hello, launch.disks ?? [], channelNames);
      // Unix sockets in the private run dir, or pipe names: whatever the helper's platform uses.
      const endpoints = channelPaths(helper.endpointStyle ?? endpointStyleFor(), files.runDir, channelNames);
      const dataChannels = dataChannelSpecs(channelNames, endpoints.data);
      const cmdlineExtra = [...(launch.cmdlineExtra ?? []), ...optional.flatMap((c) => c.cmdline)];
      helper.onVmExit((info) => this.onExit(helper, `The VM ended (${info.reason}): ${info.message}`, exited));
      helper.onHelperExit((detail) => this.onExit(helper, `The VM helper exited unexpectedly${detail ? `: ${detail}` : ''}`, exited));
      phase('booting');
      const started = await helper.start({
        name: `viv-${this.id}`.slice(0, 64).replace(/[^A-Za-z0-9._-]/g, '-'),
        arch: image.arch,
        kernel: image.kernel,
        initrd: files.initrd,
        cmdline: guestCmdline({ shareKind, readOnly: launch.readOnly, channelKind, accelerator, arch: image.arch, extra: cmdlineExtra }),
        cpus: Math.min(launch.cpus, f.maxCpus),
        memoryMiB: Math.min(launch.memoryMiB, f.maxMemoryMiB),
        shares: [{ tag: 'workspace', hostPath: launch.sharePath, readOnly: launch.readOnly }],
        shareKind,
        channelKind,
        channelPath: endpoints.ssh,
        consoleLog: files.consoleLog,
        ...(disks.length ? { disks } : {}),
        ...(dataChannels.length ? { dataChannels } : {}),
      });
      this.accelerator = started.accelerator;
      this.dataChannels = publishedDataChannels(hello.helper, channelKind, dataChannels, started.dataChannels);
      phase('connecting');
      this.endpoint = { socketPath: started.channel.path, privateKey: files.keys.clientPrivateKey, hostPublicKey: files.keys.hostPublicKey };
      this.conn = await this.openConnection(exited.signal);
      this.bootMs = Date.now() - t0;
      this.startedAt = Date.now();
      phase('ready');
      this.set('running');
    } catch (e) {
      const err = toVivError(e);
      const reason = exited.signal.aborted && exited.signal.reason instanceof Error ? exited.signal.reason.message : err.message;
      await this.teardown(true);
      this.set('failed', reason);
      throw exited.signal.aborted ? new VivError('internal', reason, err.toInfo()) : err;
    }
  }

  private async openConnection(abort?: AbortSignal): Promise<GuestConnection> {
    const ep = this.endpoint;
    if (!ep) throw new VivError('invalidState', 'The VM is not running.');
    const conn = await this.openGuest(ep, { timeoutMs: this.timeouts.connectMs, abort });
    conn.once('close', () => {
      if (this.conn === conn) this.conn = null;
    });
    this.emit('connected', conn);
    return conn;
  }

  /**
   * Where the running VM's guest SSH server is reached, for diagnostics and the exec
   * benchmark: the channel endpoint (a unix socket or a pipe name; one client at a time on
   * virtio-serial), the client key file, the pinned host key. Null unless running.
   */
  endpointInfo(): { socketPath: string; clientKeyFile: string; hostPublicKey: string } | null {
    if (this.state !== 'running' || !this.endpoint) return null;
    return { socketPath: this.endpoint.socketPath, clientKeyFile: join(this.vmDir, 'client_key'), hostPublicKey: this.endpoint.hostPublicKey };
  }

  /**
   * A data channel of the running VM (asked for in `VmLaunch.dataChannels`): its kind and the
   * host endpoint to connect to. On virtio-serial the endpoint serves one connection at a
   * time; on vsock/hvsocket each connection is a new guest connection. Null unless running.
   */
  dataChannel(name: string): DataChannelInfo | null {
    if (this.state !== 'running') return null;
    return this.dataChannels.find((d) => d.name === name) ?? null;
  }

  /** The host endpoint (unix socket path or pipe name) of a data channel; null unless running. */
  dataChannelPath(name: string): string | null {
    return this.dataChannel(name)?.path ?? null;
  }

  /** Closes the guest connection without stopping the VM (the next `connection()` reopens it). */
  disconnect(): void {
    const c = this.conn;
    this.conn = null;
    c?.close();
  }

  /**
   * The guest connection of the running VM. If it dropped (the guest's SSH server restarted)
   * while the VM still runs, a new one is opened; concurrent callers share it.
   */
  async connection(): Promise<GuestConnection> {
    if (this.starting) await this.starting;
    if (this.state !== 'running') throw new VivError('invalidState', `The VM is ${this.state}${this.reason ? ` (${this.reason})` : ''}; start it first.`);
    if (this.conn && !this.conn.closed) return this.conn;
    this.connecting ??= this.openConnection().then(
      (c) => {
        this.conn = c;
        this.connecting = null;
        return c;
      },
      (e: unknown) => {
        this.connecting = null;
        throw e;
      },
    );
    return this.connecting;
  }

  private onExit(helper: HelperPort, reason: string, exited: AbortController): void {
    if (!exited.signal.aborted) exited.abort(new Error(reason));
    // Only the current boot's helper may fail the VM; a previous boot's late event is stale.
    if (this.state === 'running' && this.helper === helper) {
      void this.teardown(true).then(() => this.set('failed', reason));
    }
  }

  /** Stops the VM: `poweroff -f` over SSH unless forced, then the helper's stop, then cleanup. */
  async stop(force = false): Promise<void> {
    if (this.stopping) return this.stopping;
    if (this.starting) await this.starting.catch(() => undefined);
    if (this.state !== 'running') return;
    this.stopping = (async () => {
      this.set('stopping');
      await this.teardown(force);
      this.set('stopped');
    })().finally(() => {
      this.stopping = null;
    });
    return this.stopping;
  }

  private async teardown(force: boolean): Promise<void> {
    const conn = this.conn;
    const helper = this.helper;
    const files = this.files;
    this.conn = null;
    this.helper = null;
    this.files = null;
    this.endpoint = null;
    this.dataChannels = [];
    if (conn && !conn.closed && !force) {
      // The guest never answers: it powers off under us. Give it a moment to reach the kernel.
      await conn.exec('poweroff -f', { cwd: '/' }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
    }
    conn?.close();
    if (helper) {
      await helper.stop({ force, timeoutMs: this.timeouts.stopMs }).catch(() => undefined);
      await helper.close().catch(() => undefined);
    }
    if (files) await cleanupBoot(files).catch(() => undefined);
  }
}

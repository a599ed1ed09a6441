/**
 * The VMs of the core, one per workspace, and which guest image each boot runs. A tiny boot is
 * the kernel + initramfs alone; a standard boot adds the verified standard root filesystem as a
 * read-only disk (the VM's first, /dev/vda) and `vivarium.root=standard`, on which the guest's
 * init mounts it under a tmpfs overlay and switches root (guest-image/init); with the workspace's
 * keepState the overlay's upper layer is its state disk instead (state-disk.ts). Standard boots get
 * at least STANDARD_MIN_MEMORY_MIB: the agents (Bun, Node) and the overlay's tmpfs live in RAM.
 * Implements ImageHost for WorkspaceImages (image switches for tasks).
 */
import { VivError } from '../../shared/errors.js';
import type { VmSnapshot } from '../../shared/contract-schemas.js';
import type { GuestImageKind } from '../agents/agent-profiles.js';
import type { GuestConnection } from '../guest/guest-connection.js';
import { hostGuestArch, loadGuestImage, type GuestArch, type GuestImage } from '../image/guest-image.js';
import { loadStandardImage, platformDiskFormat, type StandardImage } from '../image/standard-image.js';
import type { HelperFactory } from '../vm/helper-process.js';
import { VmInstance, type BootPhase, type VmLaunch, type VmTimeouts } from '../vm/vm-instance.js';
import { ensureStateDisk, standardLaunchOf, stateDiskUnsupportedReason } from './state-disk.js';
import type { ImageHost } from './workspace-images.js';

/** Least memory of a standard boot, MiB (the workspace's setting applies when larger). */
export const STANDARD_MIN_MEMORY_MIB = 2048;

export { STANDARD_ROOT_PARAM } from './state-disk.js';

/** What the VMs need from the core. */
export interface WorkspaceVmsOptions {
  vmDir: (workspaceId: string) => string;
  helperFactory: HelperFactory;
  guestDir?: string;
  standardDir?: string;
  /** Where verified standard-image digests are remembered (a file in the data folder). */
  stampFile?: string;
  guestArch?: GuestArch;
  vmTimeouts?: VmTimeouts;
  /** The folder share and sizing of a workspace's next boot (checks its grant; throws the cause). */
  launchOf: (workspaceId: string, alreadyRunning: boolean) => Promise<VmLaunch>;
  /** Whether a standard boot of the workspace keeps its state on `<vmDir>/state.img` (keepState). */
  keepStateOf?: (workspaceId: string) => boolean;
  /** The platform whose helper attaches the disks (default: this one; tests pick another). */
  platform?: NodeJS.Platform;
  /** Closes what lives on the VM's connection (egress, gateway) before it stops. */
  beforeStop: (workspaceId: string) => Promise<void>;
  onChanged: (workspaceId: string) => void;
  onPhase: (workspaceId: string, phase: BootPhase, elapsedMs: number) => void;
  onConnected: (workspaceId: string, conn: GuestConnection, image: GuestImageKind) => void;
}

/** Every workspace's VM. */
export class WorkspaceVms implements ImageHost {
  private readonly vms = new Map<string, VmInstance>();
  /** The image of the current (or last) boot. */
  private readonly kinds = new Map<string, GuestImageKind>();
  /** The image the next plain start uses, when it differs from the last boot's. */
  private readonly preferred = new Map<string, GuestImageKind>();
  private readonly booting = new Map<string, Promise<void>>();
  private tinyImage: Promise<GuestImage> | null = null;
  private standardImage: Promise<StandardImage> | null = null;

  constructor(private readonly opts: WorkspaceVmsOptions) {}

  private arch(): GuestArch {
    return this.opts.guestArch ?? hostGuestArch();
  }

  // Loaded once per process; a failure is not cached (the user may build the image and retry).
  private loadTiny(): Promise<GuestImage> {
    this.tinyImage ??= loadGuestImage(this.arch(), this.opts.guestDir).catch((e: unknown) => {
      this.tinyImage = null;
      throw e;
    });
    return this.tinyImage;
  }

  private loadStandard(): Promise<StandardImage> {
    this.standardImage ??= loadStandardImage(this.arch(), this.opts.standardDir, this.opts.stampFile).catch((e: unknown) => {
      this.standardImage = null;
      throw e;
    });
    return this.standardImage;
  }

  /** The workspace's VM (created stopped on first use). */
  vm(workspaceId: string): VmInstance {
    let vm = this.vms.get(workspaceId);
    if (!vm) {
      vm = new VmInstance(workspaceId, this.opts.vmDir(workspaceId), this.opts.helperFactory, () => this.loadTiny(), this.opts.vmTimeouts);
      vm.on('changed', () => this.opts.onChanged(workspaceId));
      vm.on('phase', (phase, ms) => this.opts.onPhase(workspaceId, phase, ms));
      vm.on('connected', (conn) => this.opts.onConnected(workspaceId, conn, this.kinds.get(workspaceId) ?? 'tiny'));
      this.vms.set(workspaceId, vm);
    }
    return vm;
  }

  /** The VM's snapshot (stopped when it never ran). */
  snapshot(workspaceId: string): VmSnapshot {
    return this.vms.get(workspaceId)?.snapshot() ?? { state: 'stopped', reason: null, bootMs: null, startedAt: null };
  }

  /** Ids of workspaces that have a VM object (running or not). */
  ids(): string[] {
    return [...this.vms.keys()];
  }

  running(workspaceId: string): GuestImageKind | null {
    return this.vms.get(workspaceId)?.snapshot().state === 'running' ? (this.kinds.get(workspaceId) ?? 'tiny') : null;
  }

  lastImage(workspaceId: string): GuestImageKind {
    return this.preferred.get(workspaceId) ?? this.kinds.get(workspaceId) ?? 'tiny';
  }

  prefer(workspaceId: string, kind: GuestImageKind): void {
    this.preferred.set(workspaceId, kind);
  }

  async prepare(kind: GuestImageKind): Promise<void> {
    await this.loadTiny();
    if (kind === 'standard') await this.loadStandard();
  }

  /**
   * Boots the VM with `kind` (default: the last image it ran); a boot in progress is joined
   * whatever its image, a running VM is left as it is. Resolves once the guest answers.
   */
  start(workspaceId: string, kind: GuestImageKind = this.lastImage(workspaceId)): Promise<void> {
    const inProgress = this.booting.get(workspaceId);
    if (inProgress) return inProgress;
    const vm = this.vm(workspaceId);
    const running = vm.snapshot().state === 'running';
    const boot = (async () => {
      const base = await this.opts.launchOf(workspaceId, running);
      if (running) return;
      const launch = kind === 'standard' ? await this.standardLaunch(workspaceId, base) : base;
      this.kinds.set(workspaceId, kind);
      this.preferred.delete(workspaceId);
      await vm.start(launch);
      if (kind === 'standard') await this.checkStandardRoot(workspaceId, vm);
    })().finally(() => {
      if (this.booting.get(workspaceId) === boot) this.booting.delete(workspaceId);
    });
    this.booting.set(workspaceId, boot);
    return boot;
  }

  /**
   * The guest's init falls back to the tiny root when it cannot mount the standard one (reason in
   * /run/vivarium/root-error): such a VM is stopped and the cause reported, instead of running
   * agents that are not there.
   */
  private async checkStandardRoot(workspaceId: string, vm: VmInstance): Promise<void> {
    const conn = await vm.connection();
    const r = await conn.run('if [ -f /etc/debian_version ]; then echo standard; else cat /run/vivarium/root-error 2>/dev/null; fi', { cwd: '/' });
    if (r.stdout.trim() === 'standard') return;
    await this.stop(workspaceId);
    const why = r.stdout.trim() || 'the guest recorded no reason (its init may predate the standard image)';
    throw new VivError('invalidState', `The VM started but could not switch to the standard image: ${why}`);
  }

  // The root disk goes first (the guest's init mounts /dev/vda as the root), the state disk second.
  // keepState is refused before anything is made when this platform's helper cannot attach it.
  private async standardLaunch(workspaceId: string, base: VmLaunch): Promise<VmLaunch> {
    const keepState = this.opts.keepStateOf?.(workspaceId) ?? false;
    const unsupported = keepState ? stateDiskUnsupportedReason(platformDiskFormat(this.opts.platform)) : null;
    if (unsupported) throw new VivError('unsupported', unsupported);
    const image = await this.loadStandard();
    const stateDisk = keepState ? await ensureStateDisk(this.opts.vmDir(workspaceId)) : null;
    return standardLaunchOf(base, { rootfs: image.rootfs, format: image.format, minMemoryMiB: STANDARD_MIN_MEMORY_MIB }, stateDisk);
  }

  /** Stops the VM (its egress and gateway sessions first); stopping a stopped VM succeeds. */
  async stop(workspaceId: string, force = false): Promise<void> {
    await this.opts.beforeStop(workspaceId);
    await this.vms.get(workspaceId)?.stop(force);
  }

  async connection(workspaceId: string): Promise<GuestConnection> {
    const vm = this.vms.get(workspaceId);
    if (!vm) throw new VivError('invalidState', 'The VM is not running; start it first.');
    return vm.connection();
  }

  /** Forgets a (stopped) workspace's VM. */
  forget(workspaceId: string): void {
    this.vms.delete(workspaceId);
    this.kinds.delete(workspaceId);
    this.preferred.delete(workspaceId);
  }
}

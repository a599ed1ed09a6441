// The VM state machine with a scripted helper and a scripted guest connection (logic only;
// real boots are in test/conformance/). Files it prepares are real and checked.
import { EventEmitter } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VivError } from '../../shared/errors.js';
import type { VmSnapshot } from '../../shared/contract-schemas.js';
import type { GuestConnection } from '../guest/guest-connection.js';
import type { GuestImage } from '../image/guest-image.js';
import type { EndpointStyle, HelperPort } from './helper-process.js';
import { vmSpecSchema, type HelloResult, type HelperFeatures, type StartResult, type VmExit, type VmSpec } from './helper-protocol.js';
import { VmInstance } from './vm-instance.js';
import { sweepStaleRunDirs } from './vm-runtime.js';

class FakeConn extends EventEmitter {
  closed = false;
  commands: string[] = [];
  async exec(cmd: string): Promise<unknown> {
    this.commands.push(cmd);
    return {};
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }
}

/** Features of a helper that predates disks and data channels (as parsed: the defaults filled in). */
const OLD_FEATURES: HelperFeatures = {
  accelerators: ['tcg'], guestArchs: ['x86_64'], shareKinds: ['9p'], readOnlyShares: true, channelKinds: ['virtio-serial'],
  consoleLog: true, snapshots: false, maxCpus: 2, maxMemoryMiB: 1024, diskFormats: [], readOnlyDisks: false, dataChannels: 0,
};

class FakeHelper implements HelperPort {
  calls: string[] = [];
  spec: VmSpec | null = null;
  vmExit: ((i: VmExit) => void) | null = null;
  constructor(
    private readonly hello_: { helper?: string; available?: boolean; unavailableReason?: string | null; features?: Partial<HelperFeatures> } = {},
    readonly endpointStyle?: EndpointStyle,
  ) {}
  async hello(): Promise<HelloResult> {
    this.calls.push('hello');
    const { features, ...rest } = this.hello_;
    return { protocol: 1, helper: 'fake', version: '0', hostArch: 'x86_64', available: true, unavailableReason: null, ...rest, features: { ...OLD_FEATURES, ...features } };
  }
  async start(spec: VmSpec): Promise<StartResult> {
    this.calls.push('start');
    this.spec = spec;
    const kind = spec.channelKind ?? 'virtio-serial';
    const dataChannels = (spec.dataChannels ?? []).map((d) => ({ name: d.name, kind, path: d.path }));
    return { state: 'running', accelerator: (this.hello_.features?.accelerators ?? OLD_FEATURES.accelerators)[0] ?? 'tcg', channel: { kind, path: spec.channelPath }, dataChannels };
  }
  async stop(o: { force?: boolean }) {
    this.calls.push(`stop:${o.force}`);
    return { state: 'stopped' as const, forced: o.force ?? false };
  }
  onVmExit(l: (i: VmExit) => void): void {
    this.vmExit = l;
  }
  onHelperExit(): void {}
  async close(): Promise<void> {
    this.calls.push('close');
  }
}

let dir: string;
let image: GuestImage;
const started: VmInstance[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viv-vm-'));
  await writeFile(join(dir, 'vmlinux'), 'kernel');
  await writeFile(join(dir, 'initramfs.img'), 'base-initramfs');
  image = { arch: 'x86_64', dir, kernel: join(dir, 'vmlinux'), initrd: join(dir, 'initramfs.img'), manifest: {} as GuestImage['manifest'] };
});
afterEach(async () => {
  // Stopping removes each boot's run dir (in the shared runtime folder).
  await Promise.all(started.splice(0).map((vm) => vm.stop(true)));
  await rm(dir, { recursive: true, force: true });
});

function setup(helpers: FakeHelper[], connect?: () => Promise<FakeConn>) {
  const conns: FakeConn[] = [];
  let spawned = 0;
  const vm = new VmInstance(
    'ws1', join(dir, 'vms', 'ws1'),
    async () => helpers[spawned++]!,
    async () => image,
    { connectMs: 1000, stopMs: 100 },
    async () => {
      const c = connect ? await connect() : new FakeConn();
      conns.push(c);
      return c as unknown as GuestConnection;
    },
  );
  const states: VmSnapshot[] = [];
  vm.on('changed', (s) => states.push(s));
  started.push(vm);
  return { vm, conns, states, spawned: () => spawned };
}

const launch = { sharePath: '/tmp', readOnly: true, cpus: 4, memoryMiB: 4096 };

describe('sweepStaleRunDirs', () => {
  it('removes run dirs of dead processes only', async () => {
    const base = join(dir, 'run');
    await mkdir(join(base, `vm-${process.pid}-live`), { recursive: true });
    await mkdir(join(base, 'vm-999999999-dead'));
    await mkdir(join(base, 'other'));
    await sweepStaleRunDirs(base);
    expect((await readdir(base)).sort()).toEqual(['other', `vm-${process.pid}-live`]);
  });
});

describe('VmInstance', () => {
  it('boots once for concurrent starts, with per-VM files 0600 and sizes clamped to the features', async () => {
    const h = new FakeHelper();
    const { vm, states, spawned } = setup([h]);
    await Promise.all([vm.start(launch), vm.start(launch), vm.start(launch)]);
    expect(spawned()).toBe(1);
    expect(states.map((s) => s.state)).toEqual(['starting', 'running']);
    expect(vm.snapshot().bootMs).toBeGreaterThanOrEqual(0);
    expect(h.spec).toMatchObject({ cpus: 2, memoryMiB: 1024, shares: [{ tag: 'workspace', hostPath: '/tmp', readOnly: true }], shareKind: '9p', channelKind: 'virtio-serial' });
    expect(h.spec!.cmdline).toMatch(/vivarium\.share=9p vivarium\.ro=1 vivarium\.channel=serial/);
    for (const f of ['client_key', 'host_key.pub', 'initrd.img']) {
      expect((await stat(join(dir, 'vms', 'ws1', f))).mode & 0o777).toBe(0o600);
    }
  });

  it('fails with the reason when the VM exits on its own, and boots again on request', async () => {
    const h1 = new FakeHelper();
    const h2 = new FakeHelper();
    const { vm, states, conns } = setup([h1, h2]);
    await vm.start(launch);
    const failed = new Promise<void>((r) => vm.on('changed', (snap) => snap.state === 'failed' && r()));
    h1.vmExit!({ reason: 'crashed', exitCode: null, message: 'kernel panic' });
    await failed;
    expect(vm.snapshot()).toMatchObject({ state: 'failed', reason: 'The VM ended (crashed): kernel panic' });
    expect(conns[0]!.closed).toBe(true);
    expect(h1.calls).toEqual(['hello', 'start', 'stop:true', 'close']);
    await vm.start(launch);
    expect(vm.snapshot().state).toBe('running');
    // A late event from the first boot's helper must not fail the second boot. onExit decides
    // synchronously, and a teardown would close the guest connection at once (forced).
    h1.vmExit!({ reason: 'crashed', exitCode: null, message: 'stale' });
    expect(conns[1]!.closed).toBe(false);
    expect(vm.snapshot().state).toBe('running');
    expect(h2.calls).toEqual(['hello', 'start']);
    expect(states.map((s) => s.state)).toEqual(['starting', 'running', 'failed', 'starting', 'running']);
  });

  it('fails with the helper reason when the hypervisor is unavailable and leaves nothing behind', async () => {
    const h = new FakeHelper({ available: false, unavailableReason: 'qemu-system-x86_64 is not installed' });
    const { vm } = setup([h]);
    await expect(vm.start(launch)).rejects.toThrow(/qemu-system-x86_64 is not installed/);
    expect(vm.snapshot()).toMatchObject({ state: 'failed', reason: 'qemu-system-x86_64 is not installed' });
    expect(h.calls).toEqual(['hello', 'stop:true', 'close']);
    expect(await readdir(join(dir, 'vms', 'ws1'))).not.toContain('initrd.img');
  });

  it('refuses a read-only share when the helper cannot enforce it', async () => {
    const h = new FakeHelper({ features: { shareKinds: ['virtiofs'], readOnlyShares: false, channelKinds: ['vsock'] } });
    const { vm } = setup([h]);
    await expect(vm.start(launch)).rejects.toThrow(/cannot enforce read-only shares/);
  });

  it('attaches disks and data channels the helper offers, and publishes the channel endpoints', async () => {
    const h = new FakeHelper({ features: { diskFormats: ['raw'], readOnlyDisks: true, dataChannels: 4 } });
    const { vm } = setup([h]);
    expect(vm.dataChannelPath('egress')).toBeNull();
    await vm.start({ ...launch, disks: [{ id: 'root', hostPath: '/img/root.img', readOnly: true }], dataChannels: ['egress', 'logs'], cmdlineExtra: ['vivarium.root=standard', 'vivarium.egress=1'] });
    expect(h.spec!.disks).toEqual([{ id: 'root', hostPath: '/img/root.img', readOnly: true, format: 'raw' }]);
    const runDir = h.spec!.channelPath.replace(/\/ssh\.sock$/, '');
    expect(h.spec!.dataChannels).toEqual([
      { name: 'egress', path: join(runDir, 'egress.sock'), guestPort: 68664 },
      { name: 'logs', path: join(runDir, 'logs.sock'), guestPort: 0x12001 },
    ]);
    expect(h.spec!.cmdline).toMatch(/ vivarium\.root=standard vivarium\.egress=1$/);
    expect(vm.dataChannelPath('egress')).toBe(join(runDir, 'egress.sock'));
    expect(vm.dataChannel('logs')).toEqual({ name: 'logs', kind: 'virtio-serial', path: join(runDir, 'logs.sock') });
    expect(vm.dataChannelPath('nope')).toBeNull();
    await vm.stop(true);
    expect(vm.dataChannelPath('egress')).toBeNull();
  });

  it('sends no disks or data channels when none are asked (old helpers never see the members)', async () => {
    const h = new FakeHelper();
    const { vm } = setup([h]);
    await vm.start(launch);
    expect(h.spec).not.toHaveProperty('disks');
    expect(h.spec).not.toHaveProperty('dataChannels');
  });

  it('asks for optional data channels only while the helper has some left, with their kernel parameters', async () => {
    const relay = { name: 'egress', cmdline: ['vivarium.egress=1'] };
    const roomy = new FakeHelper({ features: { dataChannels: 2 } });
    const a = setup([roomy]);
    await a.vm.start({ ...launch, dataChannels: ['logs'], optionalDataChannels: [relay] });
    expect(roomy.spec!.dataChannels!.map((d) => d.name)).toEqual(['logs', 'egress']);
    expect(roomy.spec!.cmdline).toMatch(/ vivarium\.egress=1$/);
    expect(a.vm.dataChannelPath('egress')).not.toBeNull();
    await a.vm.stop(true);

    const full = new FakeHelper({ features: { dataChannels: 1 } });
    const b = setup([full]);
    await b.vm.start({ ...launch, dataChannels: ['logs'], optionalDataChannels: [relay] });
    expect(full.spec!.dataChannels!.map((d) => d.name)).toEqual(['logs']);
    expect(full.spec!.cmdline).not.toContain('vivarium.egress');
    expect(b.vm.dataChannel('egress')).toBeNull();
    await b.vm.stop(true);

    const old = new FakeHelper(); // no dataChannels feature: the VM still boots, without the relay
    const c = setup([old]);
    await c.vm.start({ ...launch, optionalDataChannels: [relay] });
    expect(old.spec).not.toHaveProperty('dataChannels');
    expect(old.spec!.cmdline).not.toContain('vivarium.egress');
  });

  it('refuses disks and data channels a helper does not offer, naming the helper and the feature', async () => {
    const old = new FakeHelper(); // features without diskFormats/readOnlyDisks/dataChannels: a pre-session-2 helper
    const { vm } = setup([old]);
    const disk = { id: 'root', hostPath: '/img/root.img', readOnly: true };
    await expect(vm.start({ ...launch, disks: [disk] })).rejects.toMatchObject({ code: 'unsupported', message: 'The VM helper fake cannot attach raw disks (its diskFormats feature: none).' });
    expect(old.calls).toEqual(['hello', 'stop:true', 'close']);

    const hcsLike = new FakeHelper({ helper: 'hcs-like', features: { diskFormats: ['vhdx'], readOnlyDisks: false, dataChannels: 1 } });
    const second = setup([hcsLike, hcsLike, hcsLike, hcsLike]);
    await expect(second.vm.start({ ...launch, disks: [disk] })).rejects.toThrow('The VM helper hcs-like cannot attach raw disks (its diskFormats feature: vhdx).');
    await expect(second.vm.start({ ...launch, disks: [{ ...disk, format: 'vhdx' }] })).rejects.toThrow(/hcs-like cannot enforce read-only disks \(feature readOnlyDisks\)/);
    await expect(second.vm.start({ ...launch, dataChannels: ['egress', 'logs'] })).rejects.toThrow('The VM helper hcs-like offers 1 data channel (feature dataChannels); egress, logs need 2.');
    await expect(second.vm.start({ ...launch, dataChannels: ['ssh'] })).rejects.toMatchObject({ code: 'invalidArgument' });
    expect(hcsLike.calls.filter((c) => c === 'start')).toEqual([]);
  });

  it('fails when the guest never answers, naming the cause', async () => {
    const h = new FakeHelper();
    const { vm } = setup([h], async () => {
      throw new VivError('timeout', 'The guest did not answer over SSH within 1 s');
    });
    await expect(vm.start(launch)).rejects.toThrow(/did not answer over SSH/);
    expect(vm.snapshot()).toMatchObject({ state: 'failed', reason: 'The guest did not answer over SSH within 1 s' });
  });

  it('stops gracefully: poweroff -f over SSH, then the helper stop, then the helper exits', async () => {
    const h = new FakeHelper();
    const { vm, conns, states } = setup([h]);
    await vm.start(launch);
    await Promise.all([vm.stop(), vm.stop()]);
    expect(conns[0]!.commands).toEqual(['poweroff -f']);
    expect(h.calls).toEqual(['hello', 'start', 'stop:false', 'close']);
    expect(states.map((s) => s.state)).toEqual(['starting', 'running', 'stopping', 'stopped']);
    await expect(vm.connection()).rejects.toThrow(/The VM is stopped; start it first/);
  });

  it('reopens the guest connection when it dropped while the VM runs', async () => {
    const { vm, conns } = setup([new FakeHelper()]);
    let connected = 0;
    vm.on('connected', () => connected++);
    await vm.start(launch);
    conns[0]!.close();
    const [a, b] = await Promise.all([vm.connection(), vm.connection()]);
    expect(a).toBe(b);
    expect(conns).toHaveLength(2);
    expect(connected).toBe(2);
  });
});

// One boot per helper kind, with the features each helper's hello reports (native/*/README.md):
// the guest command line MUST make init serve SSH on what carries the helper's channel, and the
// endpoints MUST be what the helper's platform uses.
describe('VmInstance per helper kind', () => {
  const params = (spec: VmSpec): string[] => spec.cmdline.split(' ');

  it('qemu-helper, virtio-serial: a serial channel, unix sockets in the private run dir', async () => {
    const h = new FakeHelper({ features: { dataChannels: 4 } });
    const { vm } = setup([h]);
    await vm.start({ ...launch, dataChannels: ['egress'] });
    expect(params(h.spec!)).toEqual(expect.arrayContaining(['console=ttyS0', 'vivarium.share=9p', 'vivarium.channel=serial']));
    expect(h.spec!.cmdline).not.toMatch(/vsock/);
    expect(h.spec!.channelPath).toMatch(/\/vm-\d+-[^/]+\/ssh\.sock$/);
    expect(h.spec!.dataChannels![0]!.path).toBe(h.spec!.channelPath.replace(/ssh\.sock$/, 'egress.sock'));
    expect(vmSpecSchema.safeParse(h.spec).success).toBe(true);
  });

  it('qemu-helper, vsock (vhost-vsock under KVM): AF_VSOCK over virtio on the SSH port', async () => {
    const h = new FakeHelper({ features: { accelerators: ['kvm', 'tcg'], channelKinds: ['vsock', 'virtio-serial'] } });
    const { vm } = setup([h]);
    await vm.start(launch);
    expect(h.spec).toMatchObject({ channelKind: 'vsock', shareKind: '9p' });
    expect(params(h.spec!)).toEqual(expect.arrayContaining(['console=ttyS0', 'vivarium.channel=vsock', 'vivarium.vsock_port=22']));
    expect(h.spec!.cmdline).not.toMatch(/vsock_transport|channel=serial/);
    expect(vm.accelerator).toBe('kvm');
  });

  it('hcs-helper, hvsocket: the guest vsock over Hyper-V, hv9p share, named pipes', async () => {
    const hcs = new FakeHelper(
      { helper: 'hcs-helper', features: { accelerators: ['hyperv'], shareKinds: ['hv9p'], channelKinds: ['hvsocket'], diskFormats: ['vhdx'], readOnlyDisks: true, dataChannels: 4 } },
      'named-pipe',
    );
    const { vm } = setup([hcs]);
    await vm.start({ ...launch, dataChannels: ['egress'] });
    const p = params(hcs.spec!);
    expect(hcs.spec).toMatchObject({ shareKind: 'hv9p', channelKind: 'hvsocket' });
    expect(p).toEqual(expect.arrayContaining([
      'console=ttyS0', 'vivarium.share=hv9p', 'vivarium.ro=1', 'vivarium.hv9p_port=50001', 'vivarium.hv9p_aname=workspace',
      'vivarium.channel=vsock', 'vivarium.vsock_port=22', 'vivarium.vsock_transport=hv',
    ]));
    expect(p).not.toContain('vivarium.channel=serial');
    // hcs-helper requires \\.\pipe\<name> (at most 100 bytes) for the SSH and every data channel.
    expect(hcs.spec!.channelPath).toMatch(/^\\\\\.\\pipe\\vivarium-[0-9a-f]{32}-ssh$/);
    expect(hcs.spec!.dataChannels).toEqual([{ name: 'egress', path: hcs.spec!.channelPath.replace(/-ssh$/, '-egress'), guestPort: 68664 }]);
    expect(vmSpecSchema.safeParse(hcs.spec).success).toBe(true);
    expect(vm.dataChannel('egress')).toMatchObject({ kind: 'hvsocket', path: hcs.spec!.dataChannels![0]!.path });
    expect(vm.endpointInfo()?.socketPath).toBe(hcs.spec!.channelPath);
  });

  it('vz-helper: virtiofs and vsock on an arm64 guest whose only console is hvc0', async () => {
    image = { ...image, arch: 'arm64' };
    const vz = new FakeHelper({ helper: 'vz-helper', features: { accelerators: ['vz'], guestArchs: ['arm64'], shareKinds: ['virtiofs'], channelKinds: ['vsock'] } });
    const { vm } = setup([vz]);
    await vm.start(launch);
    const p = params(vz.spec!);
    expect(vz.spec).toMatchObject({ arch: 'arm64', shareKind: 'virtiofs', channelKind: 'vsock' });
    expect(p).toEqual(expect.arrayContaining(['console=hvc0', 'vivarium.share=virtiofs', 'vivarium.channel=vsock', 'vivarium.vsock_port=22']));
    expect(p.filter((w) => w.startsWith('console='))).toEqual(['console=hvc0']);
    expect(vz.spec!.cmdline).not.toMatch(/vsock_transport|ttyAMA0/);
    expect(vz.spec!.channelPath).toMatch(/\/ssh\.sock$/);
  });

  it('refuses a helper that offers no kind this version knows, naming what is missing', async () => {
    const h = new FakeHelper({ helper: 'future-helper', features: { channelKinds: [] } });
    const { vm } = setup([h]);
    await expect(vm.start(launch)).rejects.toMatchObject({ code: 'unsupported', message: 'The VM helper future-helper offers no agent channel kind that this version of Vivarium knows.' });
    expect(h.calls).not.toContain('start');
  });
});

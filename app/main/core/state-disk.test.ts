// The state disk (keepState) on the host: the file, the launch it makes (through VmInstance to a
// scripted helper's VmSpec), the core's setting, discard and removal. Real boots keeping files
// across restarts: test/conformance/state-disk.test.ts.
import { EventEmitter } from 'node:events';
import { mkdir, mkdtemp, readdir, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VivError } from '../../shared/errors.js';
import { MemoryKeyStore } from '../gateway/key-store.js';
import { storedWorkspaceSchema } from '../state/state-schema.js';
import type { GuestConnection } from '../guest/guest-connection.js';
import type { GuestImage } from '../image/guest-image.js';
import type { HelperPort } from '../vm/helper-process.js';
import type { HelloResult, StartResult, VmExit, VmSpec } from '../vm/helper-protocol.js';
import { VmInstance, type VmLaunch } from '../vm/vm-instance.js';
import {
  STATE_DISK_BYTES, STATE_PARAM, discardStateDisk, ensureStateDisk, standardLaunchOf, stateDiskPath, stateDiskUnsupportedReason,
} from './state-disk.js';
import { Vivarium } from './vivarium.js';
import { WorkspaceVms } from './workspace-vms.js';

let dir: string;
beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'viv-state-')));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A helper that records the VmSpec it is asked to start (features of a session-2 QEMU helper). */
class RecordingHelper implements HelperPort {
  spec: VmSpec | null = null;
  async hello(): Promise<HelloResult> {
    return {
      protocol: 1, helper: 'fake', version: '0', hostArch: 'x86_64', available: true, unavailableReason: null,
      features: {
        accelerators: ['tcg'], guestArchs: ['x86_64'], shareKinds: ['9p'], readOnlyShares: true, channelKinds: ['virtio-serial'],
        consoleLog: true, snapshots: false, maxCpus: 2, maxMemoryMiB: 4096, diskFormats: ['raw'], readOnlyDisks: true, dataChannels: 4,
      },
    };
  }
  async start(spec: VmSpec): Promise<StartResult> {
    this.spec = spec;
    return { state: 'running', accelerator: 'tcg', channel: { kind: 'virtio-serial', path: spec.channelPath }, dataChannels: [] };
  }
  async stop(o: { force?: boolean }) {
    return { state: 'stopped' as const, forced: o.force ?? false };
  }
  onVmExit(_l: (i: VmExit) => void): void {}
  onHelperExit(): void {}
  async close(): Promise<void> {}
}

class IdleConn extends EventEmitter {
  close(): void {
    this.emit('close');
  }
}

const base: VmLaunch = { sharePath: '/tmp', readOnly: false, cpus: 2, memoryMiB: 512 };
const root = { rootfs: '/images/standard/x86_64/rootfs.img', format: 'raw' as const, minMemoryMiB: 2048 };

describe('ensureStateDisk', () => {
  it('makes a sparse 16 GiB file once, atomically, and keeps an existing one', async () => {
    const vmDir = join(dir, 'vms', 'w1');
    const path = await ensureStateDisk(vmDir);
    expect(path).toBe(stateDiskPath(vmDir));
    const s = await stat(path);
    expect(s.size).toBe(STATE_DISK_BYTES);
    expect(s.size).toBe(16 * 1024 ** 3);
    // Sparse: far less allocated than its apparent size (blocks are 512 bytes).
    expect(s.blocks * 512).toBeLessThan(1024 * 1024);
    expect(s.mode & 0o777).toBe(0o600);
    expect(await readdir(vmDir)).toEqual(['state.img']);
    // The guest owns the contents: a second call keeps the file as it is.
    await writeFile(path, 'guest data');
    await ensureStateDisk(vmDir);
    expect((await stat(path)).size).toBe('guest data'.length);
  });

  it('names the cause and leaves nothing behind when it cannot make the disk', async () => {
    const blocker = join(dir, 'file');
    await writeFile(blocker, 'x');
    await expect(ensureStateDisk(join(blocker, 'vm'))).rejects.toThrow(/Could not create the VM's state disk .*\/file\/vm\/state\.img: .*ENOTDIR/);
    const vmDir = join(dir, 'vm2');
    await mkdir(join(vmDir, 'state.img'), { recursive: true });
    await expect(ensureStateDisk(vmDir)).rejects.toMatchObject({ code: 'invalidState', message: expect.stringContaining('is not a regular file') });
  });

  it('discards the disk and a leftover partial one, saying whether there was one', async () => {
    const vmDir = join(dir, 'vm');
    expect(await discardStateDisk(vmDir)).toBe(false);
    await ensureStateDisk(vmDir);
    await writeFile(`${stateDiskPath(vmDir)}.partial`, '');
    expect(await discardStateDisk(vmDir)).toBe(true);
    expect(await readdir(vmDir)).toEqual([]);
  });
});

describe('standardLaunchOf', () => {
  it('puts the read-only root first and the read-write state disk second, with both kernel parameters', () => {
    const l = standardLaunchOf({ ...base, cmdlineExtra: ['x=1'] }, root, '/data/vms/w1/state.img');
    expect(l.disks).toEqual([
      { id: 'standard', hostPath: root.rootfs, readOnly: true, format: 'raw' },
      { id: 'state', hostPath: '/data/vms/w1/state.img', readOnly: false, format: 'raw' },
    ]);
    expect(l.cmdlineExtra).toEqual(['x=1', 'vivarium.root=standard', STATE_PARAM]);
    expect(l.memoryMiB).toBe(2048);
  });

  it('without keepState: the root disk alone and no state parameter (writes go to tmpfs)', () => {
    const l = standardLaunchOf(base, root, null);
    expect(l.disks).toEqual([{ id: 'standard', hostPath: root.rootfs, readOnly: true, format: 'raw' }]);
    expect(l.cmdlineExtra).toEqual(['vivarium.root=standard']);
  });

  it('reaches the helper as /dev/vda + /dev/vdb with vivarium.state=1 on the kernel command line', async () => {
    const kernelDir = join(dir, 'img');
    await mkdir(kernelDir);
    await writeFile(join(kernelDir, 'vmlinux'), 'kernel');
    await writeFile(join(kernelDir, 'initramfs.img'), 'initramfs');
    const image: GuestImage = { arch: 'x86_64', dir: kernelDir, kernel: join(kernelDir, 'vmlinux'), initrd: join(kernelDir, 'initramfs.img'), manifest: {} as GuestImage['manifest'] };
    const helper = new RecordingHelper();
    const vmDir = join(dir, 'vms', 'w1');
    const vm = new VmInstance('w1', vmDir, async () => helper, async () => image, { connectMs: 1000, stopMs: 100 },
      async () => new IdleConn() as unknown as GuestConnection);
    try {
      const disk = await ensureStateDisk(vmDir);
      await vm.start(standardLaunchOf(base, root, disk));
      expect(helper.spec!.disks).toEqual([
        { id: 'standard', hostPath: root.rootfs, readOnly: true, format: 'raw' },
        { id: 'state', hostPath: disk, readOnly: false, format: 'raw' },
      ]);
      expect(helper.spec!.cmdline.split(' ')).toEqual(expect.arrayContaining(['vivarium.root=standard', 'vivarium.state=1']));
    } finally {
      await vm.stop(true);
    }
  });
});

describe('keepState where the helper attaches only VHDX (Windows)', () => {
  it('is refused with the reason before any disk is made', async () => {
    expect(stateDiskUnsupportedReason('raw')).toBeNull();
    expect(stateDiskUnsupportedReason('vhdx')).toMatch(/attaches only vhdx disks/);
    const vms = new WorkspaceVms({
      vmDir: (id) => join(dir, 'vms', id),
      helperFactory: async () => {
        throw new Error('no helper may be spawned');
      },
      platform: 'win32',
      keepStateOf: () => true,
      launchOf: async () => base,
      beforeStop: async () => {},
      onChanged: () => {},
      onPhase: () => {},
      onConnected: () => {},
    });
    await expect(vms.start('w1', 'standard')).rejects.toMatchObject({ code: 'unsupported', message: expect.stringContaining("Turn off \"Keep the VM's state\"") });
    await expect(stat(join(dir, 'vms'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('Vivarium keepState', () => {
  const noHelper = async (): Promise<never> => {
    throw new VivError('hypervisorUnavailable', 'no helper in unit tests');
  };
  const open = (): Promise<Vivarium> => Vivarium.open({ dataDir: join(dir, 'data'), helperFactory: noHelper, home: join(dir, 'home'), keys: new MemoryKeyStore() });

  it('loads a state.json written before the setting existed with keepState off', () => {
    const old = { id: 'w1', name: 'site', grant: null, settings: { cpus: 1, memoryMiB: 256 }, egress: { mode: 'off' }, createdAt: 1 };
    expect(storedWorkspaceSchema.parse(old).settings).toEqual({ cpus: 1, memoryMiB: 256, keepState: false });
  });

  it('stores the setting (absent in an update = unchanged), discards the disk, and removal deletes it', async () => {
    await mkdir(join(dir, 'home'));
    await mkdir(join(dir, 'proj'));
    const core = await open();
    const ws = await core.createWorkspace(join(dir, 'proj'), 'rw', false);
    expect(ws.settings.keepState).toBe(false);
    await core.updateSettings(ws.id, { cpus: 2, memoryMiB: 512, keepState: true });
    await core.updateSettings(ws.id, { cpus: 1, memoryMiB: 512 });
    expect((await (await open()).listWorkspaces())[0]!.settings).toEqual({ cpus: 1, memoryMiB: 512, keepState: true });
    const vmDir = join(dir, 'data', 'vms', ws.id);
    expect(await core.discardVmState(ws.id)).toBe(false);
    await ensureStateDisk(vmDir);
    expect(await core.discardVmState(ws.id)).toBe(true);
    await expect(stat(stateDiskPath(vmDir))).rejects.toMatchObject({ code: 'ENOENT' });
    await ensureStateDisk(vmDir);
    await core.removeWorkspace(ws.id);
    await expect(stat(vmDir)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(core.discardVmState(ws.id)).rejects.toMatchObject({ code: 'notFound' });
  });
});

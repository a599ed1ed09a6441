// "Keep the VM's state" (issue 10) through the real core, on real standard-image VMs under TCG:
// with keepState on, a file written to /root (outside /workspace) survives a VM restart, kept on
// the workspace's sparse state disk (<vmDir>/state.img, /dev/vdb in the guest); with it off, the
// same restart forgets it (the overlay's upper layer is tmpfs). Discarding the saved state and
// removing the workspace delete the disk. Needs the tiny image (`npm run guest:build`) and the
// standard one (`bash guest-image/standard/build.sh x86_64`); skipped with the reason otherwise.
import { existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_DISK_BYTES, stateDiskPath } from '../../app/main/core/state-disk.js';
import type { Vivarium } from '../../app/main/core/vivarium.js';
import { hostGuestArch, loadGuestImage } from '../../app/main/image/guest-image.js';
import { defaultStandardDir } from '../../app/main/image/standard-image.js';
import { openCore, processesMentioning, REPO, scratch } from './core-support.js';

const arch = hostGuestArch();

async function missing(): Promise<string> {
  try {
    await loadGuestImage(arch);
  } catch (e) {
    return `the tiny guest image is not usable (${(e as Error).message})`;
  }
  const rootfs = join(defaultStandardDir(join(REPO, 'dist', 'guest')), arch, 'rootfs.ext4');
  if (!existsSync(rootfs)) return `${rootfs} is missing (bash guest-image/standard/build.sh ${arch})`;
  return '';
}
const why = await missing();
if (why) console.warn(`state-disk: skipped: ${why}`);

let base: { dir: string; cleanup: () => Promise<void> };
let core: Vivarium;
let ws: string;
const figures: Record<string, number> = {};

/** Runs a shell command as a task in the workspace's running VM; its output (the task must succeed). */
async function sh(command: string): Promise<string> {
  const t = await core.startTask(ws, command, null);
  const done = await core.tasks.waitFor(t.id);
  const out = (await core.readTaskOutput(t.id, 0, 1 << 20)).data;
  expect(done, out).toMatchObject({ state: 'succeeded', exitCode: 0 });
  return out;
}

/** Stops the VM and boots it again (the standard image: the last one it ran); boot time in ms. */
async function restart(): Promise<number> {
  await core.stopVm(ws, false);
  const t0 = performance.now();
  await core.startVm(ws);
  return Math.round(performance.now() - t0);
}

describe.skipIf(why !== '')(`keeping the VM's state (${arch}, TCG)`, () => {
  beforeAll(async () => {
    base = await scratch('state');
    await mkdir(join(base.dir, 'share'));
    core = await openCore(join(base.dir, 'data'), { vmTimeouts: { connectMs: 300_000, stopMs: 20_000 } });
    ws = (await core.createWorkspace(join(base.dir, 'share'), 'rw', false)).id;
  }, 60_000);

  afterAll(async () => {
    await core?.close();
    if (base) {
      expect(await processesMentioning(base.dir)).toEqual([]);
      await base.cleanup();
    }
    console.log(`state-disk figures: ${JSON.stringify(figures)}`);
  });

  it('keeps a file written to /root across a restart when keepState is on, on a sparse state disk', async () => {
    await core.updateSettings(ws, { cpus: 2, memoryMiB: 2048, keepState: true });
    let t0 = performance.now();
    await core.startVm(ws, 'standard');
    figures.firstBootWithBlankStateDiskMs = Math.round(performance.now() - t0);
    const disk = stateDiskPath(core.paths.vmDir(ws));
    expect((await stat(disk)).size).toBe(STATE_DISK_BYTES);
    // The overlay's upper layer is the state disk's ext4, not tmpfs.
    expect(await sh('grep " /run/vivarium/rw " /proc/mounts | cut -d" " -f1,3; cat /etc/debian_version >/dev/null && echo standard'))
      .toMatch(/^\/dev\/vdb ext4\nstandard\n$/);
    await sh('echo kept across restarts > /root/kept.txt');
    figures.restartWithStateMs = await restart();
    expect(await sh('cat /root/kept.txt')).toBe('kept across restarts\n');
    const s = await stat(disk);
    figures.stateDiskAllocatedMiB = Math.round((s.blocks * 512) / 2 ** 20);
    expect(s.blocks * 512).toBeLessThan(STATE_DISK_BYTES / 4);
    t0 = performance.now();
    await core.stopVm(ws, false);
    figures.stopMs = Math.round(performance.now() - t0);
  }, 900_000);

  it('forgets it with keepState off (tmpfs), and discarding the saved state deletes the disk', async () => {
    await core.updateSettings(ws, { cpus: 2, memoryMiB: 2048, keepState: false });
    await core.startVm(ws, 'standard');
    expect(await sh('test -e /root/kept.txt && echo present || echo absent; grep " /run/vivarium/rw " /proc/mounts | cut -d" " -f3'))
      .toBe('absent\ntmpfs\n');
    await sh('echo gone after restart > /root/gone.txt');
    figures.restartWithoutStateMs = await restart();
    expect(await sh('test -e /root/gone.txt && echo present || echo absent')).toBe('absent\n');
    await expect(core.discardVmState(ws)).rejects.toMatchObject({ code: 'invalidState' });
    await core.stopVm(ws, false);
    const disk = stateDiskPath(core.paths.vmDir(ws));
    expect(existsSync(disk)).toBe(true);
    expect(await core.discardVmState(ws)).toBe(true);
    expect(existsSync(disk)).toBe(false);
  }, 900_000);
});

import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { bootVm, helperHello, vmPrerequisites, type BootedVm } from '../support/helper-vm.js';

const pre = vmPrerequisites();
// virtiofs is offered only where it really works (a root helper with Debian's virtiofsd).
const virtiofs = pre.ok && (await helperHello()).features.shareKinds.includes('virtiofs');

// 9p shares through the qemu-helper, checked from both sides: what the guest does must show
// (or not show) on the host, and read-only is enforced by QEMU, not by the guest's goodwill.
describe('qemu-helper shares', () => {
  const base = mkdtempSync(join(tmpdir(), 'viv-share-'));
  let vm: BootedVm | null = null;
  afterEach(async () => {
    await vm?.dispose();
    vm = null;
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('has the helper and a guest image', () => {
    expect(pre.why).toBe('');
  });

  it.runIf(pre.ok)('a read-write share carries writes both ways; symlinks never reach host files outside it', async () => {
    const share = join(base, 'rw');
    const outside = join(base, 'outside');
    mkdirSync(share);
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.txt'), 'HOST-SECRET\n');
    writeFileSync(join(share, 'from-host.txt'), 'hello from the host\n');
    symlinkSync(join(outside, 'secret.txt'), join(share, 'abs-link'));
    symlinkSync('../outside/secret.txt', join(share, 'rel-link'));
    vm = await bootVm({ name: 'share-rw', share: { hostPath: share, readOnly: false } });

    const w = await vm.run('cat /workspace/from-host.txt && echo "written by the guest" > /workspace/from-guest.txt && mkdir /workspace/dir');
    expect(w).toMatchObject({ exitCode: 0, stdout: 'hello from the host\n' });
    expect(readFileSync(join(share, 'from-guest.txt'), 'utf8')).toBe('written by the guest\n');
    expect(readdirSync(share).sort()).toEqual(['abs-link', 'dir', 'from-guest.txt', 'from-host.txt', 'rel-link']);

    // The links resolve inside the guest's own file system, where the host path does not exist.
    const links = await vm.run('cat /workspace/abs-link /workspace/rel-link 2>&1; readlink /workspace/abs-link');
    expect(links.stdout).not.toContain('HOST-SECRET');
    expect(links.stdout).toContain(join(outside, 'secret.txt')); // readlink shows the target text only
  });

  it.runIf(pre.ok)('a read-only share refuses writes even after the guest remounts it read-write', async () => {
    const share = join(base, 'ro');
    mkdirSync(share);
    writeFileSync(join(share, 'keep.txt'), 'original\n');
    vm = await bootVm({ name: 'share-ro', share: { hostPath: share, readOnly: true } });

    const read = await vm.run('cat /workspace/keep.txt');
    expect(read).toMatchObject({ exitCode: 0, stdout: 'original\n' });
    const write = await vm.run('echo changed > /workspace/keep.txt');
    expect(write.exitCode).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
    const remount = await vm.run('mount -o remount,rw /workspace; touch /workspace/new.txt; echo changed > /workspace/keep.txt; rm -f /workspace/keep.txt; echo done');
    expect(remount.stdout).toBe('done\n');
    expect(remount.stderr).toMatch(/Read-only file system|Permission denied|Operation not permitted/);
    expect(readdirSync(share)).toEqual(['keep.txt']);
    expect(readFileSync(join(share, 'keep.txt'), 'utf8')).toBe('original\n');
  });

  it.runIf(virtiofs)('virtiofs: read-write reaches the host; read-only is refused by the host kernel', async () => {
    const rw = join(base, 'vfs-rw');
    const ro = join(base, 'vfs-ro');
    mkdirSync(rw);
    mkdirSync(ro);
    writeFileSync(join(ro, 'keep.txt'), 'original\n');
    vm = await bootVm({ name: 'virtiofs-rw', share: { hostPath: rw, readOnly: false }, shareKind: 'virtiofs' });
    const w = await vm.run('grep " /workspace virtiofs " /proc/mounts && echo from-guest > /workspace/g.txt');
    expect(w.exitCode).toBe(0);
    expect(readFileSync(join(rw, 'g.txt'), 'utf8')).toBe('from-guest\n');
    await vm.dispose();

    vm = await bootVm({ name: 'virtiofs-ro', share: { hostPath: ro, readOnly: true }, shareKind: 'virtiofs' });
    const r = await vm.run('cat /workspace/keep.txt; mount -o remount,rw /workspace; echo changed > /workspace/keep.txt; touch /workspace/new.txt; echo done');
    expect(r.stdout).toBe('original\ndone\n');
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(readdirSync(ro)).toEqual(['keep.txt']);
    expect(readFileSync(join(ro, 'keep.txt'), 'utf8')).toBe('original\n');
  });
});

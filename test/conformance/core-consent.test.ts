// Consent rules through the real core: refusals and warnings, the re-check before every VM
// start, and revoke stopping the VM and cancelling its tasks (real VM).
import { mkdir, realpath, rename, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vivarium } from '../../app/main/core/vivarium.js';
import { openCore, processesMentioning, scratch } from './core-support.js';

let base: { dir: string; cleanup: () => Promise<void> };
let core: Vivarium;

beforeAll(async () => {
  base = await scratch('consent');
  core = await openCore(join(base.dir, 'data'));
});
afterAll(async () => {
  await core?.close();
  expect(await processesMentioning(base.dir)).toEqual([]);
  await base.cleanup();
});

describe('folder grants', () => {
  it('refuses / outright', async () => {
    const i = await core.inspectFolder('/');
    expect(i.refusal).toMatch(/root of a filesystem/);
    await expect(core.createWorkspace('/', 'ro', true)).rejects.toThrow(/refuses to share \/: .*root of a filesystem/);
  });

  it("refuses the app's own data folder", async () => {
    await expect(core.createWorkspace(join(base.dir, 'data'), 'ro', true)).rejects.toThrow(/Vivarium's own data folder/);
  });

  it('warns for the home folder and needs explicit confirmation', async () => {
    const i = await core.inspectFolder(homedir());
    expect(i.refusal).toBeNull();
    expect(i.warnings.map((w) => w.kind)).toContain('home');
    expect(i.needsConfirmation).toBe(true);
    await expect(core.createWorkspace(homedir(), 'ro', false)).rejects.toThrow(/needs explicit confirmation: .*home folder/);
  });

  it('warns for a folder holding a .ssh directory', async () => {
    const p = join(base.dir, 'with-ssh');
    await mkdir(join(p, '.ssh'), { recursive: true });
    await writeFile(join(p, '.ssh', 'id_ed25519'), 'not really a key');
    const i = await core.inspectFolder(p);
    expect(i.warnings).toEqual([expect.objectContaining({ kind: 'secrets', paths: ['.ssh'] })]);
    await expect(core.createWorkspace(p, 'rw', false)).rejects.toThrow(/needs explicit confirmation: .*\.ssh/);
    const ws = await core.createWorkspace(p, 'rw', true);
    expect(ws.grant).toMatchObject({ canonicalPath: await realpath(p), mode: 'rw' });
  });

  it('refuses to start a VM for a folder replaced by a symlink to another place after consent', async () => {
    const p = join(base.dir, 'project');
    const elsewhere = join(base.dir, 'elsewhere');
    await mkdir(p);
    await mkdir(elsewhere);
    const ws = await core.createWorkspace(p, 'rw', false);
    await rename(p, join(base.dir, 'project-moved'));
    await symlink(elsewhere, p);
    await expect(core.startVm(ws.id)).rejects.toThrow(/now resolves to .*elsewhere \(it was replaced by a link\).*grant it again/);
    expect((await core.listWorkspaces()).find((w) => w.id === ws.id)?.vm.state).toBe('stopped');
    expect(await processesMentioning(base.dir)).toEqual([]);
  });

  it('revoke stops the VM and cancels its running task', async () => {
    const p = join(base.dir, 'revoked');
    await mkdir(p);
    const ws = await core.createWorkspace(p, 'rw', false);
    expect((await core.startVm(ws.id)).state).toBe('running');
    const t = await core.startTask(ws.id, 'sleep 600', null);
    for (let i = 0; i < 100 && core.tasks.get(t.id).state !== 'running'; i++) await new Promise((r) => setTimeout(r, 100));
    const after = await core.revokeGrant(ws.id);
    expect(after.grant).toBeNull();
    expect(after.vm.state).toBe('stopped');
    expect(core.tasks.get(t.id)).toMatchObject({ state: 'cancelled', reason: 'Access to the folder was revoked.' });
    await expect(core.startVm(ws.id)).rejects.toThrow(/no folder grant/);
    expect((await processesMentioning(base.dir)).filter((x) => x.cmdline.includes('qemu-system'))).toEqual([]);
  });
});

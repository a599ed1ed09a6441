import { mkdir, mkdtemp, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { grantFromInspection, inspectFolder, verifyGrant, type ConsentContext } from './consent.js';
import { looksSecret, refusalFor } from './folder-rules.js';

let base: string;
let ctx: ConsentContext;
beforeEach(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'viv-consent-')));
  await mkdir(join(base, 'home', 'me', '.local', 'share', 'vivarium'), { recursive: true });
  ctx = { home: join(base, 'home', 'me'), dataDir: join(base, 'home', 'me', '.local', 'share', 'vivarium') };
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('refusalFor', () => {
  const c = { home: '/home/me', dataDir: '/home/me/.local/share/vivarium' };
  it('refuses roots, system folders, temp roots, the data folder and parents of home', () => {
    expect(refusalFor('/', c)).toMatch(/root of a filesystem/);
    expect(refusalFor('/etc', c)).toMatch(/system folder/);
    expect(refusalFor('/usr/share/doc', c)).toMatch(/system folder \(under \/usr\)/);
    expect(refusalFor('/tmp', c)).toMatch(/temporary folder/);
    expect(refusalFor('/home/me/.local/share/vivarium/vms', c)).toMatch(/data folder/);
    expect(refusalFor('/home', c)).toMatch(/contains your home folder/);
  });
  it('allows project folders, temp sub-folders and the home folder (which only warns)', () => {
    expect(refusalFor('/home/me/src/app', c)).toBeNull();
    expect(refusalFor('/tmp/work', c)).toBeNull();
    expect(refusalFor('/var/tmp/x', c)).toBeNull();
    expect(refusalFor('/home/me', c)).toBeNull();
    expect(refusalFor('/root/proj', { home: '/root', dataDir: '/root/.local/share/vivarium' })).toBeNull();
    expect(refusalFor('/root/proj', c)).toMatch(/system folder/);
  });
  it('recognizes secret-looking names', () => {
    for (const n of ['.ssh', '.aws', '.gnupg', '.env', '.env.local', 'server.pem', 'id_ed25519', 'aws-credentials.txt']) expect(looksSecret(n)).toBe(true);
    for (const n of ['src', 'README.md', '.env.example', 'package.json']) expect(looksSecret(n)).toBe(false);
  });
});

describe('inspectFolder', () => {
  it('passes a plain project folder with counts', async () => {
    const p = join(base, 'proj');
    await mkdir(join(p, 'src'), { recursive: true });
    await writeFile(join(p, 'src', 'a.txt'), 'hello');
    const i = await inspectFolder(p, ctx);
    expect(i).toMatchObject({ canonicalPath: p, refusal: null, warnings: [], needsConfirmation: false, fileCount: 1, totalBytes: 5 });
  });
  it('refuses / ', async () => {
    const i = await inspectFolder('/', ctx);
    expect(i.refusal).toMatch(/root of a filesystem/);
    expect(() => grantFromInspection(i, 'w', 'rw', true)).toThrow(/refuses to share \/: /);
  });
  it('warns for the home folder, and for a folder holding .ssh', async () => {
    const home = await inspectFolder(ctx.home, ctx);
    expect(home.warnings.map((w) => w.kind)).toContain('home');
    const p = join(base, 'proj');
    await mkdir(join(p, '.ssh'), { recursive: true });
    await writeFile(join(p, '.ssh', 'id_rsa'), 'x');
    const i = await inspectFolder(p, ctx);
    expect(i.needsConfirmation).toBe(true);
    expect(i.warnings).toEqual([expect.objectContaining({ kind: 'secrets', paths: ['.ssh'] })]);
    expect(() => grantFromInspection(i, 'w', 'rw', false)).toThrow(/needs explicit confirmation/);
    expect(grantFromInspection(i, 'w', 'ro', true, 7)).toEqual({ workspaceId: 'w', canonicalPath: p, mode: 'ro', createdAt: 7 });
  });
  it('stops counting a huge folder and says the figures are lower bounds', async () => {
    const p = join(base, 'many');
    await mkdir(p);
    for (let i = 0; i < 30; i++) await writeFile(join(p, `f${i}`), 'x');
    const i = await inspectFolder(p, { ...ctx, maxEntries: 10 });
    expect(i).toMatchObject({ countIncomplete: true, fileCount: 10 });
  });
  it('names a missing folder', async () => {
    await expect(inspectFolder(join(base, 'nope'), ctx)).rejects.toThrow(/does not exist/);
  });
});

describe('verifyGrant', () => {
  it('accepts an unchanged folder and refuses one replaced by a symlink elsewhere', async () => {
    const p = join(base, 'proj');
    const other = join(base, 'other');
    await mkdir(p);
    await mkdir(other);
    const grant = grantFromInspection(await inspectFolder(p, ctx), 'w', 'rw', false);
    await expect(verifyGrant(grant, ctx)).resolves.toBeUndefined();
    await rename(p, join(base, 'moved'));
    await symlink(other, p);
    await expect(verifyGrant(grant, ctx)).rejects.toThrow(/now resolves to .*other \(it was replaced by a link\)/);
    await rm(p);
    await expect(verifyGrant(grant, ctx)).rejects.toThrow(/no longer exists/);
  });
});

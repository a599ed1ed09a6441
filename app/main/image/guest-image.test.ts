import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { VivError } from '../../shared/errors.js';
import { defaultGuestDir, loadGuestImage } from './guest-image.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** A small fake image folder with a manifest that matches its files. */
function fakeImage(arch: 'x86_64' | 'arm64', files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'viv-img-'));
  dirs.push(root);
  mkdirSync(join(root, arch));
  const artifacts: Record<string, { sha256: string; size: number }> = {};
  for (const [name, body] of Object.entries(files)) {
    writeFileSync(join(root, arch, name), body);
    artifacts[name] = { sha256: sha(body), size: body.length };
  }
  const manifest = { schema: 1, arch, kernelRelease: '6.1.0-test', inputHash: 'x', packages: [], artifacts };
  writeFileSync(join(root, arch, 'manifest.json'), JSON.stringify(manifest));
  return root;
}

async function failure(p: Promise<unknown>): Promise<VivError> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(VivError);
  return e as VivError;
}

describe('loadGuestImage', () => {
  afterEach(() => { delete process.env.VIVARIUM_GUEST_DIR; });

  it('returns the boot kernel, bzImage and initrd of a matching x86_64 image', async () => {
    const root = fakeImage('x86_64', { vmlinux: 'elf', bzImage: 'bz', 'initramfs.img': 'cpio' });
    const img = await loadGuestImage('x86_64', root);
    expect(img.kernel).toBe(join(root, 'x86_64', 'vmlinux'));
    expect(img.bzImage).toBe(join(root, 'x86_64', 'bzImage'));
    expect(img.initrd).toBe(join(root, 'x86_64', 'initramfs.img'));
    expect(img.manifest.kernelRelease).toBe('6.1.0-test');
  });

  it('boots arm64 from the uncompressed Image', async () => {
    const root = fakeImage('arm64', { Image: 'raw', 'initramfs.img': 'cpio' });
    const img = await loadGuestImage('arm64', root);
    expect(img.kernel).toBe(join(root, 'arm64', 'Image'));
    expect(img.bzImage).toBeUndefined();
  });

  it('refuses a modified artifact, naming the file, both digests and the fix', async () => {
    const root = fakeImage('x86_64', { vmlinux: 'elf', bzImage: 'bz', 'initramfs.img': 'cpio' });
    writeFileSync(join(root, 'x86_64', 'initramfs.img'), 'cpiO');
    const e = await failure(loadGuestImage('x86_64', root));
    expect(e.code).toBe('invalidState');
    expect(e.message).toContain(join(root, 'x86_64', 'initramfs.img'));
    expect(e.message).toContain(sha('cpio'));
    expect(e.message).toContain(sha('cpiO'));
    expect(e.message).toContain('npm run guest:build');
  });

  it('refuses a missing artifact, a manifest without its digest, and a missing manifest', async () => {
    const root = fakeImage('x86_64', { vmlinux: 'elf', bzImage: 'bz', 'initramfs.img': 'cpio' });
    rmSync(join(root, 'x86_64', 'bzImage'));
    expect((await failure(loadGuestImage('x86_64', root))).message).toMatch(/bzImage is missing/);
    const partial = fakeImage('x86_64', { vmlinux: 'elf', 'initramfs.img': 'cpio' });
    expect((await failure(loadGuestImage('x86_64', partial))).message).toMatch(/no digest for bzImage/);
    const none = await failure(loadGuestImage('arm64', root));
    expect(none.code).toBe('notFound');
    expect(none.message).toContain('npm run guest:build');
  });

  it('refuses a manifest for another arch or with a bad shape', async () => {
    const root = fakeImage('arm64', { Image: 'raw', 'initramfs.img': 'cpio' });
    rmSync(join(root, 'arm64'), { recursive: true });
    mkdirSync(join(root, 'x86_64'));
    writeFileSync(join(root, 'x86_64', 'manifest.json'), JSON.stringify({ schema: 1, arch: 'arm64', kernelRelease: 'k', inputHash: '', packages: [], artifacts: {} }));
    expect((await failure(loadGuestImage('x86_64', root))).message).toMatch(/for arm64, not x86_64/);
    writeFileSync(join(root, 'x86_64', 'manifest.json'), '{"schema": 2}');
    expect((await failure(loadGuestImage('x86_64', root))).message).toMatch(/malformed/);
  });

  it('finds images under VIVARIUM_GUEST_DIR, else under the repository', () => {
    process.env.VIVARIUM_GUEST_DIR = '/somewhere/guest';
    expect(defaultGuestDir()).toBe('/somewhere/guest');
    delete process.env.VIVARIUM_GUEST_DIR;
    expect(defaultGuestDir().endsWith(join('dist', 'guest'))).toBe(true);
  });
});

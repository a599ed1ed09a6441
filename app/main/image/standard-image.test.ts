// Verifying the standard image before it is attached (small stand-in files; the real 1.4 GB
// image is attached by test/conformance/agents-core.test.ts).
import { createHash } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadStandardImage, platformDiskFormat } from './standard-image.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viv-std-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function makeImage(content: Buffer, manifestPatch: Record<string, unknown> = {}): Promise<string> {
  await mkdir(join(dir, 'x86_64'), { recursive: true });
  await writeFile(join(dir, 'x86_64', 'rootfs.ext4'), content);
  const sha256 = createHash('sha256').update(content).digest('hex');
  const manifest = { schema: 1, image: 'standard', arch: 'x86_64', inputHash: 'h', npm: [], artifacts: { 'rootfs.ext4': { sha256, size: content.length } }, ...manifestPatch };
  await writeFile(join(dir, 'x86_64', 'manifest.json'), JSON.stringify(manifest));
  return sha256;
}

describe('loadStandardImage', () => {
  it('names `npm run guest:build` when the image is missing', async () => {
    await expect(loadStandardImage('x86_64', dir)).rejects.toMatchObject({ code: 'notFound', message: expect.stringMatching(/needs the standard guest image.*npm run guest:build/) });
    await makeImage(Buffer.from('img'));
    await rm(join(dir, 'x86_64', 'rootfs.ext4'));
    await expect(loadStandardImage('x86_64', dir)).rejects.toThrow(/rootfs\.ext4 is missing.*npm run guest:build/);
  });

  it('verifies the digest and remembers it in the stamp file', async () => {
    const sha = await makeImage(Buffer.alloc(4096, 7));
    const stamp = join(dir, 'stamps.json');
    const img = await loadStandardImage('x86_64', dir, stamp);
    expect(img).toMatchObject({ arch: 'x86_64', format: 'raw', sizeBytes: 4096, rootfs: join(dir, 'x86_64', 'rootfs.ext4') });
    expect(JSON.parse(await readFile(stamp, 'utf8'))[img.rootfs].sha256).toBe(sha);
  });

  it('refuses a modified image (size or content) and a manifest for another arch', async () => {
    await makeImage(Buffer.alloc(4096, 1));
    await appendFile(join(dir, 'x86_64', 'rootfs.ext4'), 'x');
    await expect(loadStandardImage('x86_64', dir)).rejects.toThrow(/is 4097 bytes, its manifest says 4096/);
    await makeImage(Buffer.alloc(4096, 2));
    await writeFile(join(dir, 'x86_64', 'rootfs.ext4'), Buffer.alloc(4096, 3));
    await expect(loadStandardImage('x86_64', dir)).rejects.toMatchObject({ code: 'invalidState', message: expect.stringMatching(/does not match its manifest: sha256 is [0-9a-f]{64}, manifest says/) });
    await makeImage(Buffer.alloc(8, 2), { arch: 'arm64' });
    await expect(loadStandardImage('x86_64', dir)).rejects.toThrow(/is for arm64, not x86_64/);
  });

  it('attaches the VHDX on Windows and says so when the manifest has none', async () => {
    expect(platformDiskFormat('win32')).toBe('vhdx');
    expect(platformDiskFormat('darwin')).toBe('raw');
    expect(platformDiskFormat('linux')).toBe('raw');
    await makeImage(Buffer.alloc(16, 4));
    await expect(loadStandardImage('x86_64', dir, undefined, 'vhdx')).rejects.toThrow(/lists no rootfs\.vhdx \(the vhdx disk/);
    const vhdx = Buffer.concat([Buffer.from('vhdxfile'), Buffer.alloc(8)]);
    await writeFile(join(dir, 'x86_64', 'rootfs.vhdx'), vhdx);
    const manifest = JSON.parse(await readFile(join(dir, 'x86_64', 'manifest.json'), 'utf8'));
    manifest.artifacts['rootfs.vhdx'] = { sha256: createHash('sha256').update(vhdx).digest('hex'), size: vhdx.length, format: 'vhdx' };
    await writeFile(join(dir, 'x86_64', 'manifest.json'), JSON.stringify(manifest));
    expect(await loadStandardImage('x86_64', dir, undefined, 'vhdx')).toMatchObject({ format: 'vhdx', rootfs: join(dir, 'x86_64', 'rootfs.vhdx'), sizeBytes: 16 });
  });
});

/**
 * Locating and verifying the standard guest root filesystem (issue 10; built by
 * guest-image/standard/build.sh into dist/guest-standard/<arch>/: rootfs.ext4 + manifest.json).
 * Nothing attaches an image whose sha256 differs from its manifest. The image is large (~1.4 GB,
 * ~6 s to hash here), so a verified digest is remembered — in memory for this process and in a
 * stamp file in the data folder for later ones — against the file's identity (device, inode,
 * size, mtime, ctime); any change to the file hashes it again.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { VivError } from '../../shared/errors.js';
import { defaultGuestDir, sha256File, type GuestArch } from './guest-image.js';

/** File name of the verified-digest stamps in a data folder. */
export const STAMP_FILE = 'image-digests.json';

/** Disk formats the standard image is built in: raw ext4 (QEMU, VZ) and VHDX (HCS). */
export type StandardDiskFormat = 'raw' | 'vhdx';

/** The image file inside `<dir>/<arch>/` for each format. */
export const STANDARD_FILES: Readonly<Record<StandardDiskFormat, string>> = { raw: 'rootfs.ext4', vhdx: 'rootfs.vhdx' };

/** The raw image file (the one every format is converted from). */
export const STANDARD_ROOTFS = STANDARD_FILES.raw;

/** The format this platform's helper attaches (PROTOCOL.md `features.diskFormats`): VHDX for HCS, raw elsewhere. */
export function platformDiskFormat(platform: NodeJS.Platform = process.platform): StandardDiskFormat {
  return platform === 'win32' ? 'vhdx' : 'raw';
}

const BUILD_HINT = 'Build it with `npm run guest:build` (or `bash guest-image/standard/build.sh <arch>`).';

/** manifest.json of a standard image (the members the app relies on; the rest is informational). */
export const standardManifestSchema = z.looseObject({
  schema: z.literal(1),
  image: z.literal('standard'),
  arch: z.enum(['x86_64', 'arm64']),
  inputHash: z.string(),
  artifacts: z.record(z.string(), z.looseObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().positive() })),
});
export type StandardManifest = z.infer<typeof standardManifestSchema>;

/** A verified standard image, attached read-only as the VM's first disk. */
export interface StandardImage {
  arch: GuestArch;
  /** Absolute path of the image file (ext4, raw or inside a VHDX). */
  rootfs: string;
  /** Disk format for the helper's `disks[].format`. */
  format: StandardDiskFormat;
  sizeBytes: number;
  manifest: StandardManifest;
}

/** Where standard images live: $VIVARIUM_STANDARD_DIR, else `guest-standard` beside the tiny image folder. */
export function defaultStandardDir(guestDir: string = defaultGuestDir()): string {
  const env = process.env.VIVARIUM_STANDARD_DIR;
  if (env) return resolve(env);
  return join(guestDir, '..', 'guest-standard');
}

const verified = new Map<string, string>();

function identity(s: { dev: number; ino: number; size: number; mtimeMs: number; ctimeMs: number }): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
}

const stampSchema = z.record(z.string(), z.object({ identity: z.string(), sha256: z.string() }));

async function digestOf(path: string, id: string, stampFile: string | undefined): Promise<string> {
  const key = `${path}|${id}`;
  const known = verified.get(key);
  if (known) return known;
  if (stampFile) {
    const stamps = stampSchema.safeParse(await readFile(stampFile, 'utf8').then(JSON.parse, () => ({})));
    const s = stamps.success ? stamps.data[path] : undefined;
    if (s && s.identity === id) {
      verified.set(key, s.sha256);
      return s.sha256;
    }
  }
  const digest = await sha256File(path);
  verified.set(key, digest);
  return digest;
}

async function rememberDigest(stampFile: string, path: string, id: string, sha256: string): Promise<void> {
  const old = stampSchema.safeParse(await readFile(stampFile, 'utf8').then(JSON.parse, () => ({})));
  const next = { ...(old.success ? old.data : {}), [path]: { identity: id, sha256 } };
  await writeFile(stampFile, `${JSON.stringify(next)}\n`, { mode: 0o600 }).catch(() => undefined);
}

/**
 * Loads the standard image of `arch` from `dir` and verifies it. Throws notFound naming
 * `npm run guest:build` when it is missing, invalidState naming both digests when it differs.
 * `stampFile` (in the data folder) lets later processes skip re-hashing an unchanged file.
 */
export async function loadStandardImage(
  arch: GuestArch,
  dir: string = defaultStandardDir(),
  stampFile?: string,
  format: StandardDiskFormat = platformDiskFormat(),
): Promise<StandardImage> {
  const archDir = join(dir, arch);
  const manifestPath = join(archDir, 'manifest.json');
  const file = STANDARD_FILES[format];
  const rootfs = join(archDir, file);
  let raw: string;
  try {
    raw = await readFile(manifestPath, 'utf8');
  } catch (e) {
    throw new VivError('notFound', `This task needs the standard guest image (Debian with the agents), but there is none for ${arch}: ${manifestPath} is missing. ${BUILD_HINT}`, e);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new VivError('invalidState', `The standard image manifest ${manifestPath} is not valid JSON. ${BUILD_HINT}`, e);
  }
  const r = standardManifestSchema.safeParse(parsed);
  if (!r.success) throw new VivError('invalidState', `The standard image manifest ${manifestPath} is malformed (${r.error.issues[0]?.message ?? 'schema'}). ${BUILD_HINT}`, r.error.issues);
  const manifest = r.data;
  if (manifest.arch !== arch) throw new VivError('invalidState', `The standard image manifest ${manifestPath} is for ${manifest.arch}, not ${arch}. ${BUILD_HINT}`);
  const want = manifest.artifacts[file];
  if (!want) throw new VivError('invalidState', `The standard image manifest ${manifestPath} lists no ${file} (the ${format} disk this platform's VM helper attaches). ${BUILD_HINT}`);
  let st;
  try {
    st = await stat(rootfs);
  } catch (e) {
    throw new VivError('notFound', `The standard image ${rootfs} is missing (its manifest is there). ${BUILD_HINT}`, e);
  }
  if (!st.isFile()) throw new VivError('invalidState', `The standard image ${rootfs} is not a regular file. ${BUILD_HINT}`);
  if (st.size !== want.size) {
    throw new VivError('invalidState', `The standard image ${rootfs} is ${st.size} bytes, its manifest says ${want.size}: it was modified or only partly written. Refusing to attach it. ${BUILD_HINT}`);
  }
  const id = identity(st);
  const got = await digestOf(rootfs, id, stampFile);
  if (got !== want.sha256) {
    verified.delete(`${rootfs}|${id}`);
    throw new VivError('invalidState', `The standard image ${rootfs} does not match its manifest: sha256 is ${got}, manifest says ${want.sha256}. Refusing to attach it. ${BUILD_HINT}`, { path: rootfs, actual: got, expected: want.sha256 });
  }
  if (stampFile) await rememberDigest(stampFile, rootfs, id, got);
  return { arch, rootfs, format, sizeBytes: st.size, manifest };
}

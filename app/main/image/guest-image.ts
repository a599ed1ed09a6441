/**
 * Locating and verifying the built guest image (guest-image/build.sh output). Nothing boots an
 * image that `loadGuestImage` has not verified: every artifact's sha256 must equal manifest.json.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { arch as osArch } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { VivError } from '../../shared/errors.js';

/** Guest CPU architectures the image is built for (uname -m spelling, except arm64). */
export type GuestArch = 'x86_64' | 'arm64';
export const GUEST_ARCHES: readonly GuestArch[] = ['x86_64', 'arm64'];

/** The artifacts each arch MUST have; the first is the kernel to boot directly. */
const REQUIRED: Record<GuestArch, readonly string[]> = {
  x86_64: ['vmlinux', 'bzImage', 'initramfs.img'], // vmlinux: ELF for PVH boot (QEMU); bzImage: HCS, Intel VZ
  arm64: ['Image', 'initramfs.img'], // uncompressed Image: VZ cannot boot a compressed one
};

const digestSchema = z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().nonnegative() });

/** manifest.json as written by guest-image/build.sh. */
export const guestManifestSchema = z.object({
  schema: z.literal(1),
  arch: z.enum(['x86_64', 'arm64']),
  kernelRelease: z.string().min(1),
  inputHash: z.string(),
  packages: z.array(z.object({ name: z.string(), version: z.string(), suite: z.string().optional(), arch: z.string(), sha256: z.string() })),
  artifacts: z.record(z.string(), digestSchema),
});
export type GuestManifest = z.infer<typeof guestManifestSchema>;

/** A verified guest image: absolute paths of its files plus the manifest they matched. */
export interface GuestImage {
  arch: GuestArch;
  dir: string;
  /** The kernel to pass to `-kernel`/the boot loader: x86_64 → vmlinux (PVH ELF), arm64 → Image. */
  kernel: string;
  /** x86_64 only: the compressed bzImage (for loaders without PVH: HCS, Intel VZ). */
  bzImage?: string;
  /** The base initramfs; per-VM initrds are built from it with `writeVmInitrd`. */
  initrd: string;
  manifest: GuestManifest;
}

/** The guest arch matching this host's CPU (what a native hypervisor can run). */
export function hostGuestArch(): GuestArch {
  const a = osArch();
  if (a === 'x64') return 'x86_64';
  if (a === 'arm64') return 'arm64';
  throw new VivError('unsupported', `No guest image for host CPU "${a}"; Vivarium supports x86_64 and arm64`);
}

/** Where guest images live: $VIVARIUM_GUEST_DIR, else <repo>/dist/guest. */
export function defaultGuestDir(): string {
  const env = process.env.VIVARIUM_GUEST_DIR;
  if (env) return resolve(env);
  return join(repoRoot(), 'dist', 'guest');
}

/** The repository root: $VIVARIUM_REPO, else the nearest ancestor of this module holding guest-image/build.sh. */
function repoRoot(): string {
  if (process.env.VIVARIUM_REPO) return resolve(process.env.VIVARIUM_REPO);
  let d = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(d, 'guest-image', 'build.sh')) && existsSync(join(d, 'package.json'))) return d;
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  // Bundled or packaged code far from the repo: fall back to the working directory's package.
  const cwdPkg = join(process.cwd(), 'package.json');
  if (existsSync(cwdPkg) && /"name":\s*"vivarium"/.test(readFileSync(cwdPkg, 'utf8'))) return process.cwd();
  throw new VivError('notFound', 'Cannot locate the guest image folder; set VIVARIUM_GUEST_DIR');
}

/** The sha256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Loads the image of `arch` from `dir` (default `defaultGuestDir()`) and verifies it. Throws a
 * VivError naming the file, both digests and the fix when an artifact is missing or differs.
 */
export async function loadGuestImage(arch: GuestArch, dir: string = defaultGuestDir()): Promise<GuestImage> {
  const archDir = join(dir, arch);
  const manifestPath = join(archDir, 'manifest.json');
  let raw: string;
  try {
    raw = await readFile(manifestPath, 'utf8');
  } catch (e) {
    throw new VivError('notFound', `No ${arch} guest image: ${manifestPath} is missing. Build it with \`npm run guest:build\`.`, e);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new VivError('invalidState', `Guest manifest ${manifestPath} is not valid JSON; rebuild with \`npm run guest:build\`.`, e);
  }
  const r = guestManifestSchema.safeParse(parsed);
  if (!r.success) {
    throw new VivError('invalidState', `Guest manifest ${manifestPath} is malformed (${r.error.issues[0]?.message ?? 'schema'}); rebuild with \`npm run guest:build\`.`, r.error.issues);
  }
  const manifest = r.data;
  if (manifest.arch !== arch) {
    throw new VivError('invalidState', `Guest manifest ${manifestPath} is for ${manifest.arch}, not ${arch}; rebuild with \`npm run guest:build\`.`);
  }
  for (const name of REQUIRED[arch]) {
    const want = manifest.artifacts[name];
    const path = join(archDir, name);
    if (!want) {
      throw new VivError('invalidState', `Guest manifest ${manifestPath} lists no digest for ${name}; rebuild with \`npm run guest:build\`.`);
    }
    let got: string;
    try {
      got = await sha256File(path);
    } catch (e) {
      throw new VivError('notFound', `Guest image file ${path} is missing (manifest sha256 ${want.sha256}). Rebuild with \`npm run guest:build\`.`, e);
    }
    if (got !== want.sha256) {
      throw new VivError(
        'invalidState',
        `Guest image file ${path} does not match its manifest: sha256 is ${got}, manifest says ${want.sha256}. ` +
          'The file was modified or corrupted; refusing to boot it. Rebuild with `npm run guest:build` (or reinstall Vivarium).',
        { path, actual: got, expected: want.sha256 },
      );
    }
  }
  const kernelName = REQUIRED[arch][0]!;
  const image: GuestImage = { arch, dir: archDir, kernel: join(archDir, kernelName), initrd: join(archDir, 'initramfs.img'), manifest };
  if (arch === 'x86_64') image.bzImage = join(archDir, 'bzImage');
  return image;
}

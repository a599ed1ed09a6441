/**
 * Which folders may be shared (README.md "Security"): the fixed refusal and warning
 * rules, as pure functions of canonical paths, per platform (Linux, macOS, Windows; the
 * platform is a parameter so every platform's rules are tested on any machine).
 *
 * Refused: file system roots (`/`, `C:\`, `\\server\share`), system folders with everything in
 * them, the app's data folder, folders that contain the home folder, and the places where
 * external disks are mounted (`/media`, `/media/<user>`, a disk's mount point). A folder on
 * an external disk, below its mount point, is allowed, with a note in the inspection.
 */
import { posix, win32 } from 'node:path';
import type { ConsentWarning } from '../../shared/contract-schemas.js';

/** The fixed places the rules compare against. */
export interface FolderRuleContext {
  /** The user's home folder, canonical. */
  home: string;
  /** Vivarium's data folder, canonical (or as it will be once created). */
  dataDir: string;
  /** Whose rules apply; default the running platform. */
  platform?: NodeJS.Platform;
}

/** A folder a platform refuses itself but whose subfolders may be shared, with the reason. */
interface Container {
  path: string;
  why: string;
}

/** Where external disks are mounted: the base and `depth` levels below it (user, disk) are refused. */
interface MountBase {
  base: string;
  depth: number;
}

interface PlatformRules {
  path: typeof posix | typeof win32;
  /** The file system compares names case-insensitively (NTFS; APFS and HFS+ by default). */
  foldCase: boolean;
  /** Refused with everything inside, unless inside the home folder or a temp folder. */
  system: (root: string) => string[];
  /** Shared temporary folders: refused themselves; their subfolders are fine, even in a system folder. */
  temp: string[];
  containers: (root: string) => Container[];
  mounts: MountBase[];
}

const EVERY_USER = 'holds every user\'s home folder';

const LINUX: PlatformRules = {
  path: posix,
  foldCase: false,
  system: () => [
    '/bin', '/boot', '/dev', '/etc', '/lib', '/lib32', '/lib64', '/libx32', '/proc', '/root', '/run', '/sbin',
    '/sys', '/usr', '/var', '/opt', '/snap', '/nix', '/lost+found',
  ],
  temp: ['/tmp', '/var/tmp'],
  containers: () => [
    { path: '/home', why: EVERY_USER },
    { path: '/srv', why: 'holds the data of every service on this machine' },
  ],
  // udisks mounts at /media/<user>/<disk> (Debian, Ubuntu) or /run/media/<user>/<disk> (Fedora,
  // Arch). Older /media/<disk> mounts (usbmount) read as /media/<user>: one level deeper is allowed.
  mounts: [{ base: '/mnt', depth: 1 }, { base: '/media', depth: 2 }, { base: '/run/media', depth: 2 }],
};

const MACOS: PlatformRules = {
  path: posix,
  foldCase: true,
  // /etc, /var and /tmp are links into /private; canonical paths name /private.
  system: () => ['/System', '/Library', '/Applications', '/private', '/usr', '/bin', '/sbin', '/etc', '/var', '/cores', '/dev', '/opt', '/Network'],
  temp: ['/private/tmp', '/private/var/tmp', '/private/var/folders'],
  containers: () => [{ path: '/Users', why: EVERY_USER }],
  mounts: [{ base: '/Volumes', depth: 1 }],
};

/** Windows system folders, on every drive (a second Windows installation is just as much a system). */
const WINDOWS_SYSTEM = [
  'Windows', 'Program Files', 'Program Files (x86)', 'ProgramData', '$Recycle.Bin', 'System Volume Information',
  'Recovery', 'PerfLogs', 'Documents and Settings',
];

const WINDOWS: PlatformRules = {
  path: win32,
  foldCase: true,
  system: (root) => WINDOWS_SYSTEM.map((n) => win32.join(root, n)),
  temp: [],
  containers: (root) => [{ path: win32.join(root, 'Users'), why: EVERY_USER }],
  // A project on another drive (D:\src) is an ordinary folder; the drive's root is refused as a root.
  mounts: [],
};

function rulesFor(platform: NodeJS.Platform): PlatformRules {
  if (platform === 'win32') return WINDOWS;
  if (platform === 'darwin') return MACOS;
  return LINUX;
}

/** A path without a Windows `\\?\` prefix, normalised, without a trailing separator (except a root's). */
function plain(r: PlatformRules, p: string): string {
  const s = r.path.normalize(r.path === win32 ? p.replace(/^\\\\\?\\UNC\\/i, '\\\\').replace(/^\\\\\?\\/, '') : p);
  return s.length > r.path.parse(s).root.length ? s.replace(/[\\/]+$/, '') : s;
}

/** A path as the rules compare it: plain, and folded where the platform's file system folds case. */
function normal(r: PlatformRules, p: string): string {
  const s = plain(r, p);
  return r.foldCase ? s.toLowerCase() : s;
}

/** The path components of `child` below `parent`, or null when it is not inside (both normalised). */
function below(r: PlatformRules, child: string, parent: string): string[] | null {
  const rel = r.path.relative(parent, child);
  if (rel === '') return [];
  if (rel === '..' || rel.startsWith(`..${r.path.sep}`) || r.path.isAbsolute(rel)) return null;
  return rel.split(r.path.sep);
}

/** True when `child` is `parent` or inside it (both canonical), by the platform's rules. */
export function isInside(child: string, parent: string, platform: NodeJS.Platform = process.platform): boolean {
  const r = rulesFor(platform);
  return below(r, normal(r, child), normal(r, parent)) !== null;
}

/** The external-disk mount base a folder is under, and how deep below it, or null. */
function mountOf(r: PlatformRules, c: string): { base: MountBase; parts: string[] } | null {
  for (const base of r.mounts) {
    const parts = below(r, c, normal(r, base.base));
    if (parts) return { base, parts };
  }
  return null;
}

/** Why a canonical folder is refused outright, or null when it may be granted. */
export function refusalFor(canonical: string, ctx: FolderRuleContext): string | null {
  const r = rulesFor(ctx.platform ?? process.platform);
  const c = normal(r, canonical);
  const home = normal(r, ctx.home);
  const driveRoot = r.path.parse(plain(r, canonical)).root;
  const root = normal(r, driveRoot);
  if (c === root) return `${canonical} is the root of a filesystem; share a project folder instead.`;
  if (below(r, c, normal(r, ctx.dataDir))) {
    return `${canonical} is inside Vivarium's own data folder (${ctx.dataDir}), which holds the VMs' keys.`;
  }
  const mount = mountOf(r, c);
  if (mount && mount.parts.length <= mount.base.depth) {
    return `${canonical} is where external disks are mounted (or a disk's root); share a project folder on the disk instead.`;
  }
  if (r.temp.some((t) => normal(r, t) === c)) return `${canonical} is the shared temporary folder of every program; share a folder inside it instead.`;
  const inTemp = r.temp.some((t) => below(r, c, normal(r, t)));
  // The home folder wins over the system list (root's home is /root); a folder on an external
  // disk is not a system folder, even under /run.
  if (!mount && !inTemp && !below(r, c, home)) {
    const sys = r.system(driveRoot).find((s) => below(r, c, normal(r, s)));
    if (sys) return `${canonical} is a system folder (under ${sys}); Vivarium does not share system folders.`;
  }
  if (c !== home && below(r, home, c)) {
    return `${canonical} contains your home folder (${ctx.home}) and other users' files; share a project folder instead.`;
  }
  const container = r.containers(driveRoot).find((k) => normal(r, k.path) === c);
  if (container) return `${canonical} ${container.why}; share a project folder instead.`;
  return null;
}

/** Notes about a folder that may be shared (shown with the inspection's warnings). */
export function folderNotes(canonical: string, ctx: FolderRuleContext): ConsentWarning[] {
  const r = rulesFor(ctx.platform ?? process.platform);
  const mount = mountOf(r, normal(r, canonical));
  if (!mount || mount.parts.length <= mount.base.depth) return [];
  // The mount point as `canonical` spells it: the base's components and `depth` more.
  const baseParts = mount.base.base.split(r.path.sep).filter(Boolean).length;
  const own = canonical.split(r.path.sep).filter(Boolean);
  const at = r.path.join(r.path.parse(canonical).root, ...own.slice(0, baseParts + mount.base.depth));
  return [{
    kind: 'other',
    message: `${canonical} is on a disk mounted at ${at}. The VM reaches it only while that disk is mounted there; if another disk is mounted in its place, the same path shows that disk's files.`,
    paths: [],
  }];
}

/** File and folder names that usually hold secrets. Matched on the entry's base name. */
const SECRET_NAMES = new Set([
  '.ssh', '.aws', '.gnupg', '.azure', '.kube', '.docker', '.netrc', '.git-credentials', '.npmrc', '.pypirc',
  '.password-store', 'credentials', 'credentials.json', 'service-account.json', 'id_rsa', 'id_dsa', 'id_ecdsa',
  'id_ed25519', '.vault-token', 'keychain', 'keystore.jks',
]);
const SECRET_PATTERNS = [/^\.env(\..+)?$/, /\.(pem|key|p12|pfx|keystore|kdbx|gpg|asc)$/i, /^.*credentials.*$/i, /^secrets?(\..+)?$/i];

/** True when an entry's base name suggests it holds secrets (.ssh, .aws, .env, keys, credentials). */
export function looksSecret(name: string): boolean {
  if (SECRET_NAMES.has(name)) return true;
  if (name === '.env.example' || name === '.env.sample' || name === '.env.template') return false;
  return SECRET_PATTERNS.some((re) => re.test(name));
}

/**
 * Which folders may be shared (DESIGN.md "Folder sharing and consent"): the fixed refusal and
 * warning rules, as pure functions of canonical paths so they are easy to test.
 */
import { isAbsolute, parse, relative, sep } from 'node:path';

/** System folders: refused, with everything inside them (except the temp folders below). */
const SYSTEM_FOLDERS = [
  '/bin', '/boot', '/dev', '/etc', '/lib', '/lib32', '/lib64', '/libx32', '/proc', '/root', '/run', '/sbin',
  '/srv', '/sys', '/usr', '/var', '/opt', '/snap', '/mnt', '/media', '/lost+found',
  // macOS
  '/System', '/Library', '/Applications', '/private', '/cores', '/Volumes',
];
/** Temp folders inside system folders that are fine to share from. */
const TEMP_FOLDERS = ['/tmp', '/var/tmp', '/private/tmp', '/private/var/folders'];

/** True when `child` is `parent` or inside it (both canonical). */
export function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** Why a canonical folder is refused outright, or null when it may be granted. */
export function refusalFor(canonical: string, ctx: { home: string; dataDir: string }): string | null {
  if (parse(canonical).root === canonical) return `${canonical} is the root of a filesystem; share a project folder instead.`;
  if (isInside(canonical, ctx.dataDir)) {
    return `${canonical} is inside Vivarium's own data folder (${ctx.dataDir}), which holds the VMs' keys.`;
  }
  const inTemp = TEMP_FOLDERS.some((t) => isInside(canonical, t) && canonical !== t);
  // The home folder wins over the system list: root's home is /root, macOS homes live under /Users.
  if (!inTemp && !isInside(canonical, ctx.home)) {
    const sys = SYSTEM_FOLDERS.find((s) => isInside(canonical, s));
    if (sys) return `${canonical} is a system folder (under ${sys}); Vivarium does not share system folders.`;
  }
  if (TEMP_FOLDERS.includes(canonical)) return `${canonical} is the shared temporary folder of every program; share a folder inside it instead.`;
  if (canonical !== ctx.home && isInside(ctx.home, canonical)) {
    return `${canonical} contains your home folder (${ctx.home}) and other users' files; share a project folder instead.`;
  }
  return null;
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

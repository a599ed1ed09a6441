/**
 * Consent for folder sharing: inspect a folder before it is granted (refusal, warnings, size),
 * mint a grant, and re-check a grant before every VM start. See folder-rules.ts for the rules.
 */
import { lstat, opendir, realpath, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { VivError } from '../../shared/errors.js';
import type { ConsentInspection, ConsentWarning, Grant, ShareMode } from '../../shared/contract-schemas.js';
import { folderNotes, isInside, looksSecret, refusalFor } from './folder-rules.js';

/** The fixed places the rules compare against. */
export interface ConsentContext {
  /** The user's home folder, canonical. */
  home: string;
  /** Vivarium's data folder, canonical (or as it will be once created). */
  dataDir: string;
  /** Stop walking the folder after this many entries (the figures are then lower bounds). */
  maxEntries?: number;
}

const MAX_SECRET_PATHS = 20;

/** Resolves a path to its canonical form, with an error naming the path when it does not exist. */
export async function canonicalFolder(path: string): Promise<string> {
  let canonical: string;
  try {
    canonical = await realpath(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new VivError('notFound', `The folder ${path} does not exist.`, e);
    throw new VivError('invalidArgument', `The folder ${path} cannot be resolved (${code ?? (e as Error).message}).`, e);
  }
  const st = await stat(canonical);
  if (!st.isDirectory()) throw new VivError('invalidArgument', `${path} is not a folder.`);
  return canonical;
}

/** Inspects a folder for the consent dialog (or `viv run`): never grants anything. */
export async function inspectFolder(path: string, ctx: ConsentContext): Promise<ConsentInspection> {
  const canonicalPath = await canonicalFolder(path);
  const refusal = refusalFor(canonicalPath, ctx);
  const warnings: ConsentWarning[] = [];
  if (refusal) {
    return { requestedPath: path, canonicalPath, refusal, warnings, needsConfirmation: false, fileCount: 0, totalBytes: 0, countIncomplete: false };
  }
  warnings.push(...folderNotes(canonicalPath, ctx));
  if (canonicalPath === ctx.home) {
    warnings.push({ kind: 'home', message: `${canonicalPath} is your home folder: the VM could read (or change) all your personal files.`, paths: [] });
  }
  if (isInside(ctx.dataDir, canonicalPath)) {
    warnings.push({
      kind: 'other',
      message: `${canonicalPath} contains Vivarium's data folder; a VM sharing it could read the keys of your other VMs.`,
      paths: [relative(canonicalPath, ctx.dataDir)],
    });
  }
  const walk = await walkFolder(canonicalPath, ctx.maxEntries ?? 50_000);
  if (walk.secrets.length > 0) {
    warnings.push({
      kind: 'secrets',
      message: `${canonicalPath} holds files that usually contain secrets (${walk.secrets.slice(0, 3).join(', ')}${walk.secrets.length > 3 ? ', …' : ''}); the VM, and any agent in it, could read them.`,
      paths: walk.secrets,
    });
  }
  return {
    requestedPath: path, canonicalPath, refusal: null, warnings, needsConfirmation: warnings.length > 0,
    fileCount: walk.files, totalBytes: walk.bytes, countIncomplete: walk.incomplete,
  };
}

interface Walk { files: number; bytes: number; incomplete: boolean; secrets: string[] }

/** Breadth-first walk that never follows symlinks; secret-looking folders are reported, not entered. */
async function walkFolder(root: string, maxEntries: number): Promise<Walk> {
  const out: Walk = { files: 0, bytes: 0, incomplete: false, secrets: [] };
  const queue = [root];
  let seen = 0;
  while (queue.length > 0) {
    const dir = queue.shift()!;
    let handle;
    try {
      handle = await opendir(dir);
    } catch {
      continue; // unreadable for us: the VM cannot read it either (the helper runs as this user)
    }
    for await (const ent of handle) {
      if (++seen > maxEntries) {
        out.incomplete = true;
        break; // leaving for-await closes the handle
      }
      const full = join(dir, ent.name);
      const secret = looksSecret(ent.name);
      if (secret && out.secrets.length < MAX_SECRET_PATHS) out.secrets.push(relative(root, full));
      if (ent.isDirectory()) {
        if (!secret && ent.name !== 'node_modules' && ent.name !== '.git') queue.push(full);
      } else if (ent.isFile()) {
        out.files += 1;
        out.bytes += await lstat(full).then((s) => s.size, () => 0);
      }
    }
    if (out.incomplete) break;
  }
  return out;
}

/** Mints a grant for an inspected folder. Refused folders and unconfirmed warnings throw. */
export function grantFromInspection(i: ConsentInspection, workspaceId: string, mode: ShareMode, confirmWarnings: boolean, now = Date.now()): Grant {
  if (i.refusal) throw new VivError('invalidArgument', `Vivarium refuses to share ${i.requestedPath}: ${i.refusal}`);
  if (i.needsConfirmation && !confirmWarnings) {
    throw new VivError('invalidArgument', `Sharing ${i.canonicalPath} needs explicit confirmation: ${i.warnings.map((w) => w.message).join(' ')}`);
  }
  return { workspaceId, canonicalPath: i.canonicalPath, mode, createdAt: now };
}

/**
 * Re-checks a grant right before a VM start: the folder MUST still exist, still resolve to the
 * granted canonical path (not replaced by a symlink elsewhere) and still pass the refusal rules.
 */
export async function verifyGrant(grant: Grant, ctx: ConsentContext): Promise<void> {
  let now: string;
  try {
    now = await realpath(grant.canonicalPath);
  } catch (e) {
    throw new VivError('notFound', `The shared folder ${grant.canonicalPath} no longer exists; grant a folder again.`, e);
  }
  if (now !== grant.canonicalPath) {
    throw new VivError('invalidState', `The shared folder ${grant.canonicalPath} now resolves to ${now} (it was replaced by a link); Vivarium will not share it until you grant it again.`);
  }
  const st = await stat(now);
  if (!st.isDirectory()) throw new VivError('invalidState', `The shared folder ${grant.canonicalPath} is no longer a folder; grant it again.`);
  const refusal = refusalFor(now, ctx);
  if (refusal) throw new VivError('invalidArgument', `Vivarium refuses to share ${now}: ${refusal}`);
}

/**
 * The rules a classified change goes through (issue 15): what is never applied (setuid-only
 * changes, hard links to outside paths, links that leave the folder), what needs its own
 * confirmation (protected paths, files that become executable), conflicts against the
 * baseline, and how a refusal or conflict carries to the changes that depend on it.
 */
import type { Baseline } from './baseline-store.js';
import type { ChangeDetail } from './change-classifier.js';
import { sameStat, type PathStat } from './folder-snapshot.js';
import { protectedRule } from './protected-paths.js';
import { parentOf, type StagedTree } from './staged-tree.js';

/** Permission bits never applied: setuid, setgid, sticky. */
export const SPECIAL_BITS = 0o7000;

/** How a staged mode applies over a host mode. */
export function modeOutcome(staged: number, hostMode: number | null): { mode: number; modeChanged: boolean; onlySpecial: boolean; notices: string[] } {
  const mode = staged & 0o777;
  const notices: string[] = [];
  if (staged & 0o4000) notices.push('applied without its setuid bit, which is never applied');
  if (staged & 0o2000) notices.push('applied without its setgid bit, which is never applied');
  if (staged & 0o1000) notices.push('applied without its sticky bit');
  const modeChanged = hostMode !== null && staged !== hostMode;
  const onlySpecial = hostMode !== null && modeChanged && mode === (hostMode & 0o777) && (hostMode & SPECIAL_BITS & ~staged) === 0;
  return { mode, modeChanged, onlySpecial, notices };
}

/** Why the host copy conflicts with its baseline, or null. */
export function conflictReason(b: Baseline, h: PathStat | null): string | null {
  if (b === undefined) return h ? 'there is no record of this path from before the task, so a change on your computer cannot be ruled out' : null;
  if (sameStat(b, h)) return null;
  if (b === null) return 'created on your computer while the task ran';
  if (h === null) return 'deleted on your computer while the task ran';
  return 'changed on your computer while the task ran';
}

/** Applies the never-applied and protected rules to every change. */
export async function applyRules(details: Map<string, ChangeDetail>, tree: StagedTree, hostStat: (p: string) => Promise<PathStat | null>): Promise<void> {
  const isLinkAfter = async (q: string): Promise<boolean> => {
    const s = tree.valid.get(q);
    if (s) return s.type === 'symlink';
    if (tree.refused.has(q)) return true; // unknown: assume the worst
    return (await hostStat(q))?.type === 'symlink';
  };
  for (const d of details.values()) {
    const c = d.change;
    const s = d.staged;
    if (!s || c.status === 'deleted') continue;
    if (s.type === 'file' || s.type === 'dir') {
      const m = modeOutcome(s.mode, d.host?.type === s.type ? d.host.mode : null);
      c.notices.push(...m.notices);
      if (m.onlySpecial && !c.contentChanged) {
        c.refused ??= { code: 'setuid', reason: 'the only change adds a setuid, setgid or sticky bit, which is never applied' };
      }
    }
    if ((s.type === 'file' || s.type === 'symlink') && tree.outsideLinks.has(s.ino)) {
      c.refused ??= { code: 'hardLinkOutside', reason: 'a hard link to a file outside the folder' };
    }
    if (s.type === 'symlink' && s.linkTarget !== undefined) {
      const why = await linkEscape(c.path, s.linkTarget, isLinkAfter);
      if (why) c.refused ??= { code: 'symlinkEscapes', reason: why };
    }
    if (s.type !== 'file' && s.type !== 'dir' && s.type !== 'symlink') continue;
    const rule = protectedRule(c.path, s.type);
    if (rule) {
      c.protected = { code: 'protectedPath', reason: `runs code on your computer: ${rule.why}` };
    } else if (s.type === 'file' && (s.mode & 0o111) !== 0 && !(d.host?.type === 'file' && (d.host.mode & 0o111) !== 0)) {
      c.protected = { code: 'executable', reason: 'runs code on your computer: it becomes executable' };
    }
  }
}

/**
 * Why link target `target` at `path` leaves the folder, or null. Absolute targets leave it; a
 * relative one is resolved lexically from the link's folder, and a `..` taken right after a
 * component that is (or becomes) a link is refused too, since the kernel resolves that `..`
 * from wherever the link points.
 */
export async function linkEscape(path: string, target: string, isLinkAfter: (p: string) => Promise<boolean>): Promise<string | null> {
  if (target.startsWith('/') || /^[A-Za-z]:/.test(target) || target.includes('\\')) return `points to ${target}, outside the folder`;
  const parts = parentOf(path) === '' ? [] : parentOf(path).split('/');
  for (const comp of target.split('/')) {
    if (comp === '' || comp === '.') continue;
    if (comp !== '..') {
      parts.push(comp);
      continue;
    }
    if (parts.length === 0) return `points to ${target}, which leaves the folder`;
    const here = parts.join('/');
    if (here === path || (await isLinkAfter(here))) return `points to ${target}, which goes back up ("..") through the link ${here} and may leave the folder`;
    parts.pop();
  }
  return null;
}

/**
 * Carries refusals and conflicts along dependencies: a change inside an added or replaced
 * folder needs that folder's change; removing a host folder needs every removal below it.
 */
export function propagateDependencies(details: Map<string, ChangeDetail>): void {
  const paths = [...details.keys()].sort();
  for (const p of paths) {
    const c = details.get(p)!.change;
    const parent = details.get(parentOf(p));
    if (!parent || parent.change.status === 'deleted' || parent.change.type !== 'dir') continue;
    const created = parent.change.status === 'added' || parent.change.previousType !== undefined;
    if (!created) continue;
    if (parent.change.refused) c.refused ??= { code: 'dependency', reason: `its folder ${parent.change.path} is not applied: ${parent.change.refused.reason}` };
    else if (parent.change.conflict) c.conflict ??= { reason: `its folder ${parent.change.path} changed on your computer` };
  }
  for (const p of paths.reverse()) {
    const d = details.get(p)!;
    const up = details.get(parentOf(p));
    if (!up || !removesHostFolder(up)) continue;
    const c = d.change;
    if (c.refused) up.change.refused ??= { code: 'dependency', reason: `${c.path} inside it is not deleted: ${c.refused.reason}` };
    else if (c.conflict) up.change.conflict ??= { reason: `${c.path} inside it changed on your computer` };
  }
}

function removesHostFolder(d: ChangeDetail): boolean {
  return d.host?.type === 'dir' && (d.change.status === 'deleted' || d.change.type !== 'dir');
}

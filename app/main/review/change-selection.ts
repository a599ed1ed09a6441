/**
 * Which changes an apply takes: each requested change with what it needs (the folders it goes
 * into, the removals below a folder it removes), unless one of them is refused, in conflict or
 * protected without the user's confirmation by name. "Apply all" confirms nothing, so it never
 * takes a protected path or a conflict. Creating a protected folder only to hold a confirmed
 * path inside it needs no second confirmation (an empty folder runs nothing).
 */
import type { ChangeDetail } from './change-classifier.js';
import { createsFolder, requirements } from './apply-plan.js';
import type { SkippedPath } from './review-types.js';

/** What to take and what was left out. */
export interface Selection {
  chosen: Set<string>;
  skipped: SkippedPath[];
}

/** Selects changes for an apply. `expect` pins versions the user saw (path → version). */
export function selectChanges(
  details: ReadonlyMap<string, ChangeDetail>,
  requested: readonly string[] | 'all',
  confirmed: ReadonlySet<string>,
  expect: Readonly<Record<string, string>> = {},
): Selection {
  const sorted = [...details.keys()].sort();
  const chosen = new Set<string>();
  const skipped: SkippedPath[] = [];
  for (const p of requested === 'all' ? sorted : [...new Set(requested)]) {
    if (chosen.has(p)) continue;
    const d = details.get(p);
    if (!d) {
      skipped.push({ path: p, reason: 'it is not a staged change (any more)' });
      continue;
    }
    const want = expect[p];
    if (want !== undefined && want !== d.change.version) {
      skipped.push({ path: p, reason: 'it changed since you reviewed it; review it again' });
      continue;
    }
    const need = [p, ...requirements(p, details, sorted)];
    let why: string | null = null;
    for (const q of need) {
      const qd = details.get(q)!;
      const c = qd.change;
      const self = q === p;
      const via = self ? '' : `it needs ${q}, which is not applied: `;
      if (c.refused) why = `${via}${c.refused.reason}`;
      else if (c.conflict && !confirmed.has(q)) why = `${via}${c.conflict.reason}`;
      else if (c.protected && !confirmed.has(q) && !(p.startsWith(`${q}/`) && createsFolder(qd))) {
        why = self ? `${c.protected.reason}; it needs its own confirmation` : `${via}${c.protected.reason}`;
      }
      if (why) break;
    }
    if (why) skipped.push({ path: p, reason: why });
    else for (const q of need) chosen.add(q);
  }
  return { chosen, skipped };
}

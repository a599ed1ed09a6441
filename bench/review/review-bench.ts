/**
 * bench/review: the host side of review mode against a ChangeSource backed by a local folder
 * laid out like an overlay upper layer (the guest-side reader's figures come from its own
 * bench), side by side with `diff -r` of the same two trees on the host. For 1,000 and 20,000
 * changed files (half rewritten at the same size, so their bytes must be compared; half grown):
 *  - statWalkMs: the baseline a task start records (stat walk of the folder, no reads);
 *  - listMs: listing + classification (validation, host lstat, byte comparison, sniffing);
 *  - diffAllMs: the diff data of every changed file, one diff() call each;
 *  - applyMs: apply-all (history, temp files fsynced, journal, renames);
 *  - undoMs: undo of that apply;
 *  - diffRMs: `diff -r` of the folder and the guest's view (laid out beforehand, not timed).
 * Prints JSON; never gates on time.
 *
 * Run: npx tsx bench/review/review-bench.ts [--sizes 1000,20000]
 */
import { execFile } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DirChangeSource, materializeGuestView } from '../../app/main/review/review-test-kit.js';
import { WorkspaceReview } from '../../app/main/review/workspace-review.js';

const run = promisify(execFile);
const PER_DIR = 200;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : dflt;
}

async function layOut(root: string, n: number, content: (i: number) => string): Promise<void> {
  for (let d = 0; d * PER_DIR < n; d++) {
    await mkdir(join(root, `src/m${d}`), { recursive: true });
    const count = Math.min(PER_DIR, n - d * PER_DIR);
    await Promise.all(Array.from({ length: count }, (_, f) => writeFile(join(root, `src/m${d}/f${f}.ts`), content(d * PER_DIR + f))));
  }
}

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const v = await fn();
  return [Math.round(performance.now() - t0), v];
}

async function one(n: number): Promise<Record<string, number>> {
  const scratch = await mkdtemp(join(tmpdir(), 'viv-bench-review-'));
  try {
    const folder = join(scratch, 'folder');
    const upper = join(scratch, 'upper');
    const line = (i: number, tag: string): string => `export const value${i} = '${tag}'; // ${'x'.repeat(150)}\n`;
    await layOut(folder, n, (i) => line(i, 'host'));
    await layOut(upper, n, (i) => (i % 2 === 0 ? line(i, 'gues') : line(i, 'guest, longer')));
    const source = new DirChangeSource(upper);
    const review = new WorkspaceReview({ folder, dataDir: join(scratch, 'data'), source });
    const guest = join(scratch, 'guest');
    await materializeGuestView(folder, source, guest);

    const [diffRMs] = await time(() => run('diff', ['-r', folder, guest], { maxBuffer: 1 << 30 }).catch((e: { code?: number }) => {
      if (e.code !== 1) throw e; // 1 = differences found
    }));
    const [statWalkMs] = await time(() => review.recordTaskStart('bench'));
    const [listMs, list] = await time(() => review.list());
    if (list.changes.length !== n) throw new Error(`expected ${n} changes, listed ${list.changes.length}`);
    const [diffAllMs] = await time(async () => {
      for (const c of list.changes) await review.diff(c.path);
    });
    const [applyMs, applied] = await time(() => review.apply('all'));
    if (applied.applied.length !== n) throw new Error(`applied ${applied.applied.length} of ${n}`);
    const [undoMs] = await time(() => review.undo());
    return { files: n, statWalkMs, listMs, diffAllMs, applyMs, undoMs, diffRMs };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const sizes = arg('--sizes', '1000,20000').split(',').map(Number);
  const results: Record<string, number>[] = [];
  for (const n of sizes) results.push(await one(n));
  const out = { bench: 'review', machine: { cpus: cpus().length, model: cpus()[0]?.model, loadAvg1m: Math.round(loadavg()[0]! * 10) / 10 }, results };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

await main();

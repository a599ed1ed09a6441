/**
 * Test-only child process of apply-crash.test.ts: runs one apply-all of a DirChangeSource over
 * a folder and SIGKILLs itself at a chosen engine step, as a crash or `kill -9` would.
 * Usage: node --import tsx apply-crash-child.ts <json {folder, dataDir, upper, whiteouts, phase, at}>
 */
import { DirChangeSource } from './review-test-kit.js';
import { WorkspaceReview } from './workspace-review.js';

interface Args {
  folder: string;
  dataDir: string;
  upper: string;
  whiteouts: string[];
  phase: 'prepare' | 'commit' | 'done' | 'none';
  at: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const review = new WorkspaceReview({
  folder: args.folder,
  dataDir: args.dataDir,
  source: new DirChangeSource(args.upper, args.whiteouts),
  hooks: {
    onStep: (phase, n) => {
      if (phase === args.phase && n === args.at) process.kill(process.pid, 'SIGKILL');
    },
  },
});
const r = await review.apply('all');
process.stdout.write(JSON.stringify({ applied: r.applied.length, skipped: r.skipped }));

/**
 * Shared helpers of the core and `viv` conformance suites (real helper, real guest, real VMs).
 * Every test gets its own data folder, so the qemu processes it starts can be found by that
 * unique path in their command line — never by name (other suites run VMs too).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Vivarium, type VivariumOptions } from '../../app/main/core/vivarium.js';
import { helperProcessFactory } from '../../app/main/vm/helper-process.js';

/** The repository root. */
export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** The `viv` entry point, run with this Node. */
export const VIV = join(REPO, 'bin', 'viv.mjs');

/** A scratch folder (canonical path) removed by `cleanup`. */
export async function scratch(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), `viv-${prefix}-`)));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Opens a core on its own data folder with the real qemu-helper. */
export function openCore(dataDir: string, extra: Partial<VivariumOptions> = {}): Promise<Vivarium> {
  return Vivarium.open({ dataDir, helperFactory: helperProcessFactory(), ...extra });
}

/** The result of one `viv` run. */
export interface VivResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `viv` with a private data folder; resolves when it exits (killed after timeoutMs). */
export function runViv(args: string[], dataDir: string, o: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<VivResult> {
  return new Promise((resolveRun) => {
    const p = spawn(process.execPath, [VIV, ...args], {
      env: { ...process.env, ...o.env, VIVARIUM_DATA_DIR: dataDir },
      cwd: o.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.stdin.end(o.input ?? '');
    const timer = setTimeout(() => p.kill('SIGKILL'), o.timeoutMs ?? 150_000);
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Let the pipes drain.
      setTimeout(() => resolveRun({ code, signal, stdout, stderr }), 50);
    });
  });
}

/** Pids of live processes whose command line contains `needle` (e.g. a test's data folder). */
export async function processesMentioning(needle: string): Promise<Array<{ pid: number; cmdline: string }>> {
  const out: Array<{ pid: number; cmdline: string }> = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(needle)) out.push({ pid: Number(name), cmdline: cmdline.replace(/\0/g, ' ') });
  }
  return out;
}

/** Polls `cond` every 100 ms until it holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(cond: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

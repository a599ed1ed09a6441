/**
 * CPU time of the processes a benchmark run involves, from /proc (Linux only): this process
 * (core + harness), its descendants grouped by role (QEMU, Chromium's renderer, GPU and browser
 * processes...), everything else on the host, and idle time. Taken before and after a run, the
 * difference says who had the cores — the way to tell a slow renderer from a starved one.
 */
import { readdir, readFile } from 'node:fs/promises';

/** CPU milliseconds per role, plus the host's busy and idle totals. */
export type CpuSample = Record<string, number>;

interface ProcInfo {
  pid: number;
  ppid: number;
  cpuMs: number;
  role: string;
}

/** Nanoseconds the threads of `pid` spent runnable but waiting for a core (schedstat), all and main. */
async function runQueueWait(pid: number): Promise<{ all: number; main: number }> {
  const wait = async (path: string): Promise<number> =>
    Number((await readFile(path, 'utf8').catch(() => '0 0')).split(' ')[1] ?? 0);
  const tids = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const waits = await Promise.all(tids.map((t) => wait(`/proc/${pid}/task/${t}/schedstat`)));
  return { all: waits.reduce((a, b) => a + b, 0), main: await wait(`/proc/${pid}/task/${pid}/schedstat`) };
}

const TICK_MS = 10; // USER_HZ is 100 on every Linux this runs on

/** Reads one process; null when it vanished or is unreadable. */
async function readProc(pid: number): Promise<ProcInfo | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: the fields after it start at the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' ');
    const ppid = Number(f[1]);
    const cpuMs = (Number(f[11]) + Number(f[12])) * TICK_MS;
    const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split(/[\0 ]/);
    return { pid, ppid, cpuMs, role: roleOf(comm, cmd) };
  } catch {
    return null;
  }
}

function roleOf(comm: string, cmd: string[]): string {
  if (/qemu-system/.test(cmd[0] ?? '') || comm.startsWith('qemu-system')) return 'qemu';
  if (/chrom/i.test(cmd[0] ?? '') || /chrom/i.test(comm)) {
    const type = cmd.find((a) => a.startsWith('--type='))?.slice(7);
    return type ? `chromium-${type}` : 'chromium-browser';
  }
  return comm;
}

/** Host-wide busy and idle milliseconds (all cores) from /proc/stat. */
async function hostTimes(): Promise<{ busy: number; idle: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) * TICK_MS, idle: idle * TICK_MS };
}

/**
 * Milliseconds in which some runnable task waited for a core (PSI `some` total; 0 without PSI).
 * Its growth over a run divided by the wall time is the share of the run the host was contended.
 */
async function cpuPressureStallMs(): Promise<number> {
  const text = await readFile('/proc/pressure/cpu', 'utf8').catch(() => '');
  const m = /^some .*total=(\d+)/m.exec(text);
  return m ? Number(m[1]) / 1000 : 0;
}

/**
 * Samples CPU time: `self` is this process, other roles are its descendants, `hostBusy` and
 * `hostIdle` all cores together; `wait:<role>` keys hold run-queue waits (see waitBetween). Processes that end between two samples drop out of their role
 * (their time is lost), so take samples around a period in which they live throughout.
 */
export async function sampleCpu(): Promise<CpuSample> {
  if (process.platform !== 'linux') return {}; // no /proc: the figures are simply absent
  const pids = (await readdir('/proc')).filter((n) => /^\d+$/.test(n)).map(Number);
  const procs = (await Promise.all(pids.map(readProc))).filter((p): p is ProcInfo => p !== null);
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const mine = (p: ProcInfo): boolean => {
    for (let q: ProcInfo | undefined = p, hops = 0; q && hops < 64; q = byPid.get(q.ppid), hops++) if (q.pid === process.pid) return true;
    return false;
  };
  const out: CpuSample = {};
  for (const p of procs) {
    if (p.pid !== process.pid && !mine(p)) continue;
    const role = p.pid === process.pid ? 'self' : p.role;
    out[role] = (out[role] ?? 0) + p.cpuMs;
    const w = await runQueueWait(p.pid);
    out[`wait:${role}`] = (out[`wait:${role}`] ?? 0) + w.all / 1e6;
    out[`wait:${role}:main`] = (out[`wait:${role}:main`] ?? 0) + w.main / 1e6;
  }
  const host = await hostTimes();
  out.hostBusy = host.busy;
  out.hostIdle = host.idle;
  out.cpuPressureStallMs = await cpuPressureStallMs();
  return out;
}

/**
 * Per-role CPU milliseconds spent between two samples, plus `others`: host busy time not spent
 * by this run (other people's work, the kernel's), and `cpuPressureStallMs` (see above). Roles
 * below 1 % of the wall time are left out.
 */
export function cpuBetween(a: CpuSample, b: CpuSample, wallMs: number): Record<string, number> {
  const out: Record<string, number> = {};
  let mine = 0;
  for (const [k, v] of Object.entries(b)) {
    const d = v - (a[k] ?? 0);
    if (k === 'cpuPressureStallMs' || k.startsWith('wait:')) continue;
    if (k !== 'hostBusy' && k !== 'hostIdle') mine += d;
    if (d >= wallMs * 0.01) out[k] = Math.round(d);
  }
  out.others = Math.max(0, Math.round((b.hostBusy ?? 0) - (a.hostBusy ?? 0) - mine));
  out.cpuPressureStallMs = Math.round((b.cpuPressureStallMs ?? 0) - (a.cpuPressureStallMs ?? 0));
  return out;
}

/**
 * Per-role milliseconds that threads spent runnable but waiting for a core (Linux schedstat):
 * `<role>` sums all its threads, `<role>:main` only main threads (the renderer's is the one that
 * runs scripts, style, layout and paint). Large figures mean the role was starved, not slow.
 */
export function waitBetween(a: CpuSample, b: CpuSample): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b)) {
    if (!k.startsWith('wait:')) continue;
    const d = Math.round(v - (a[k] ?? 0));
    if (d > 0) out[k.slice(5)] = d;
  }
  return out;
}

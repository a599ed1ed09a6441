/**
 * bench/exec: latency of running `true` in a guest, side by side in one run:
 *  - over Vivarium's one open ssh2 connection (a new channel per command), 200 runs;
 *  - with a new OpenSSH client connection per command (how most VM tools run a command),
 *    reaching the guest through the same channel socket with a ProxyCommand.
 * The virtio-serial socket serves one client at a time, so the baseline runs after the ssh2
 * connection is closed. Prints JSON; never gates on time.
 *
 * Run: npx tsx bench/exec/exec-bench.ts [--runs 200] [--baseline-runs 30]
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Vivarium } from '../../app/main/core/vivarium.js';
import { helperProcessFactory } from '../../app/main/vm/helper-process.js';

const run = promisify(execFile);

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

function stats(ms: number[]): { runs: number; p50: number; p99: number; min: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  const r = (x: number): number => Math.round(x * 10) / 10;
  return { runs: s.length, p50: r(q(0.5)), p99: r(q(0.99)), min: r(s[0]!), max: r(s.at(-1)!) };
}

async function main(): Promise<void> {
  const runs = arg('--runs', 200);
  const baselineRuns = arg('--baseline-runs', 30);
  const scratch = await mkdtemp(join(tmpdir(), 'viv-bench-exec-'));
  const core = await Vivarium.open({ dataDir: join(scratch, 'data'), helperFactory: helperProcessFactory() });
  try {
    const share = join(scratch, 'share');
    await mkdir(share);
    const ws = await core.workspaceForFolder(share, 'ro');
    const vm = await core.startVm(ws.id);
    const conn = await core.connection(ws.id);
    for (let i = 0; i < 5; i++) await conn.run('true'); // warm-up
    const open: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const r = await conn.run('true');
      open.push(performance.now() - t0);
      if (r.exitCode !== 0) throw new Error(`true exited ${r.exitCode}`);
    }

    const ep = core.guestEndpoint(ws.id);
    if (!ep) throw new Error('the VM is not running');
    core.disconnectGuest(ws.id);
    await new Promise((r) => setTimeout(r, 500)); // let the guest notice the client left
    const knownHosts = join(scratch, 'known_hosts');
    await writeFile(knownHosts, `vivarium-guest ${ep.hostPublicKey}\n`, { mode: 0o600 });
    const proxy = `${process.execPath} -e "const s=require('net').connect(process.argv[1]);process.stdin.pipe(s);s.pipe(process.stdout);s.on('close',()=>process.exit(0))" ${ep.socketPath}`;
    const sshArgs = [
      '-F', '/dev/null', '-o', `ProxyCommand=${proxy}`, '-o', 'HostKeyAlias=vivarium-guest', '-o', `UserKnownHostsFile=${knownHosts}`,
      '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes',
      '-o', 'LogLevel=ERROR', '-i', ep.clientKeyFile, 'root@vivarium-guest', 'true',
    ];
    const fresh: number[] = [];
    for (let i = 0; i < baselineRuns; i++) {
      const t0 = performance.now();
      await run('ssh', sshArgs, { timeout: 60_000 });
      fresh.push(performance.now() - t0);
    }
    const a = stats(open);
    const b = stats(fresh);
    process.stdout.write(`${JSON.stringify({
      bench: 'exec',
      command: 'true',
      accelerator: core.accelerator(ws.id),
      bootMs: vm.bootMs,
      openConnectionMs: a,
      newOpenSshConnectionMs: b,
      speedupP50: Math.round((b.p50 / a.p50) * 10) / 10,
    }, null, 2)}\n`);
  } finally {
    await core.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();

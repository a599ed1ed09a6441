/**
 * The `viv` command (bin/viv.mjs runs this file through tsx): the same core as the app,
 * headless. Exit status: the guest command's own, or 2 when Vivarium itself fails, with a
 * message that names the cause. Progress and timings go to stderr only when it is a terminal.
 */
import { readFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { VivError, toVivError } from '../shared/errors.js';
import { runAgentTask } from './cli-agent.js';
import { parseVivArgs, USAGE, type VivCommand } from './cli-args.js';
import { runDoctor } from './cli-doctor.js';
import { buildImage } from './cli-image.js';
import { Vivarium } from './core/vivarium.js';
import { policyFromAllowFlags } from './egress/egress-policy.js';
import type { UpstreamConfig } from './gateway/api-gateway.js';
import type { ApiId } from './gateway/gateway-apis.js';
import { shellJoin, guestPidFile, signalTreeCommand } from './guest/remote-command.js';
import { cliDataDir, repoRoot } from './paths.js';
import { helperProcessFactory } from './vm/helper-process.js';

/** Exit status for failures of Vivarium itself. */
export const VIV_ERROR_EXIT = 2;

const progress = (line: string): void => {
  if (process.stderr.isTTY) process.stderr.write(`viv: ${line}\n`);
};

/** Runs one invocation and returns the process exit status. */
export async function main(args: readonly string[]): Promise<number> {
  const cmd = parseVivArgs(args);
  switch (cmd.kind) {
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    case 'version': {
      const pkg = JSON.parse(await readFile(`${repoRoot()}/package.json`, 'utf8')) as { version: string };
      process.stdout.write(`viv ${pkg.version}\n`);
      return 0;
    }
    case 'doctor':
      return runDoctor();
    case 'image-build':
      return buildImage(cmd.arch);
    case 'run':
    case 'shell':
      return withVm(cmd);
  }
}

async function openCore(): Promise<Vivarium> {
  // Headless: nobody can answer a prompt, so blocked hosts are refused at once ("nobody is there to ask").
  // Keys come from ANTHROPIC_API_KEY / OPENAI_API_KEY (the default EnvKeyStore).
  const core = await Vivarium.open({ dataDir: cliDataDir(), helperFactory: helperProcessFactory(), interactiveEgress: false, gatewayUpstreams: upstreamsFromEnv() });
  // Always shown, terminal or not: the user must learn that state was recovered.
  for (const m of core.recoveryMessages) process.stderr.write(`viv: ${m}\n`);
  return core;
}

/**
 * Upstream overrides for the gateway: VIVARIUM_ANTHROPIC_UPSTREAM / VIVARIUM_OPENAI_UPSTREAM
 * (https base URLs: a company endpoint, or a test's stand-in, trusted through NODE_EXTRA_CA_CERTS).
 */
function upstreamsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<Record<ApiId, UpstreamConfig>> {
  const out: Partial<Record<ApiId, UpstreamConfig>> = {};
  if (env.VIVARIUM_ANTHROPIC_UPSTREAM) out.anthropic = { baseUrl: env.VIVARIUM_ANTHROPIC_UPSTREAM };
  if (env.VIVARIUM_OPENAI_UPSTREAM) out.openai = { baseUrl: env.VIVARIUM_OPENAI_UPSTREAM };
  return out;
}

async function withVm(cmd: Extract<VivCommand, { kind: 'run' | 'shell' }>): Promise<number> {
  // Bad patterns fail before anything boots.
  const policy = policyFromAllowFlags(cmd.allow);
  const core = await openCore();
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    progress(`${sig}: stopping the VM`);
    void core.close().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  try {
    const ws = await core.workspaceForFolder(cmd.folder, cmd.readOnly ? 'ro' : 'rw');
    // This run's hosts only; the workspace's stored policy (the app's) is left as it is.
    core.useEgressForThisRun(ws.id, policy);
    // Refusals are always shown, terminal or not: a failing download must say why.
    core.subscribe((e) => {
      if (e.event === 'egress:record' && e.payload.decision !== 'allowed') {
        const r = e.payload;
        process.stderr.write(`viv: network: refused ${r.method ?? 'CONNECT'} ${r.host}:${r.port}: ${r.reason}\n`);
      }
    });
    if (cmd.cpus !== undefined || cmd.memoryMiB !== undefined) {
      await core.updateSettings(ws.id, { cpus: cmd.cpus ?? ws.settings.cpus, memoryMiB: cmd.memoryMiB ?? ws.settings.memoryMiB, keepState: ws.settings.keepState });
    }
    if (cmd.kind === 'run' && cmd.profile !== undefined && cmd.profile !== 'shell') {
      const unsubBoot = core.onBootProgress((p) => {
        if (p.phase === 'ready') progress(`VM ready in ${(p.elapsedMs / 1000).toFixed(1)} s (${core.runningImage(ws.id) ?? 'unknown'} image, ${core.accelerator(ws.id) ?? 'unknown accelerator'})`);
      });
      try {
        return await runAgentTask(core, ws.id, cmd.profile, cmd.argv[0]!, progress);
      } finally {
        unsubBoot();
      }
    }
    const unsub = core.onBootProgress((p) => {
      if (p.phase === 'booting') progress(`booting the VM for ${ws.grant?.canonicalPath} (${cmd.readOnly ? 'read-only' : 'read-write'})…`);
      if (p.phase === 'ready') progress(`VM ready in ${(p.elapsedMs / 1000).toFixed(1)} s (${core.accelerator(ws.id) ?? 'unknown accelerator'})`);
    });
    const conn = await core.connection(ws.id);
    unsub();
    const env = await core.egressEnvironment(ws.id);
    // The shell profile's "prompt" is a shell command line.
    const argv = cmd.kind === 'run' && cmd.profile === 'shell' ? ['sh', '-c', cmd.argv[0]!] : cmd.kind === 'run' ? cmd.argv : [];
    return cmd.kind === 'run' ? await runCommand(conn, argv, env) : await runShell(conn, env);
  } finally {
    process.off('SIGINT', onSignal);
    stopping = true;
    await core.close();
  }
}

type Conn = Awaited<ReturnType<Vivarium['connection']>>;

async function runCommand(conn: Conn, argv: string[], env: Record<string, string>): Promise<number> {
  const pidFile = guestPidFile(`viv-run-${process.pid}`);
  // A piped stdin goes to the command; a terminal's does not (use `viv shell` to type).
  const forwardStdin = !process.stdin.isTTY;
  const ex = await conn.exec(shellJoin(argv), { pidFile, stdin: forwardStdin, env });
  ex.stdout.pipe(process.stdout, { end: false });
  ex.stderr.pipe(process.stderr, { end: false });
  if (forwardStdin) {
    process.stdin.on('data', (b: Buffer) => ex.channel.write(b));
    process.stdin.once('end', () => ex.channel.eof());
  }
  // Ctrl-C while the command runs interrupts the command in the guest, like a local one.
  const onInt = (): void => void conn.run(signalTreeCommand(pidFile, 'INT'), { cwd: '/' }).catch(() => undefined);
  process.prependListener('SIGINT', onInt);
  try {
    const s = await ex.exit;
    if (s.exitCode !== null) return s.exitCode;
    if (s.signal) return 128 + (signalNumber(s.signal) ?? 1);
    throw new VivError('internal', 'The connection to the guest ended before the command reported its exit status (the VM may have stopped).');
  } finally {
    process.off('SIGINT', onInt);
    process.stdin.removeAllListeners('data');
    process.stdin.pause();
  }
}

function signalNumber(name: string): number | undefined {
  return (osConstants.signals as Record<string, number>)[name];
}

async function runShell(conn: Conn, env: Record<string, string>): Promise<number> {
  const out = process.stdout;
  const ex = await conn.exec('exec /bin/sh -l', { env, pty: { cols: out.columns || 80, rows: out.rows || 24, term: process.env.TERM || 'xterm-256color' } });
  const stdin = process.stdin;
  const raw = stdin.isTTY;
  if (raw) stdin.setRawMode(true);
  stdin.pipe(ex.channel);
  ex.stdout.pipe(out, { end: false });
  ex.stderr.pipe(process.stderr, { end: false });
  const onResize = (): void => ex.channel.setWindow(out.rows || 24, out.columns || 80, 0, 0);
  out.on('resize', onResize);
  try {
    const s = await ex.exit;
    return s.exitCode ?? (s.signal ? 128 + (signalNumber(s.signal) ?? 1) : 0);
  } finally {
    out.off('resize', onResize);
    stdin.unpipe(ex.channel);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
  }
}

/** Entry point: runs `main` and exits; Vivarium's own failures exit 2 with the cause. */
export async function cli(args: readonly string[]): Promise<never> {
  let code: number;
  try {
    code = await main(args);
  } catch (e) {
    const err = toVivError(e);
    process.stderr.write(`viv: ${err.message}\n`);
    if (process.env.VIVARIUM_DEBUG && err.cause !== undefined) process.stderr.write(`viv: cause: ${JSON.stringify(err.toInfo().cause)}\n`);
    code = VIV_ERROR_EXIT;
  }
  // Let piped stdout drain before exiting (large outputs into a pipe).
  await new Promise<void>((r) => (process.stdout.writableLength === 0 ? r() : process.stdout.once('drain', () => r())));
  process.exit(code);
}

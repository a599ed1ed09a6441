/**
 * Golden-transcript replayer (native/protocol/PROTOCOL.md §7). Runs every fixture in
 * native/protocol/fixtures against a helper command and reports the first mismatch with its
 * line. Used by vitest suites and as a CLI, so every helper (qemu, hcs under Wine, vz) replays
 * the same files:
 *
 *   npx tsx test/support/transcript.ts [--vm] [--wine] [--only <name>] --helper <cmd...>
 *
 * Without --vm, transcripts whose header requires "vm" are skipped; those need a bootable guest
 * image (dist/guest, or $VIVARIUM_GUEST_DIR) and a working hypervisor. --wine passes paths as a
 * Windows program under Wine sees them (Z:\...) and a named pipe as the channel, and skips the
 * transcripts that require "unix-channel".
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  loadTranscripts,
  matchPattern,
  oversizedLine,
  substitute,
  type Transcript,
  type TranscriptStep,
} from '../../app/main/vm/helper-transcript.js';

export { FIXTURES_DIR, loadTranscripts, matchPattern, parseTranscript } from '../../app/main/vm/helper-transcript.js';

/** How to run a helper for one replay. */
export interface ReplayOptions {
  command: string[];
  env?: NodeJS.ProcessEnv;
  placeholders: Record<string, string>;
  /** Per expected message; VM boots under TCG need minutes, not seconds. */
  messageTimeoutMs?: number;
  /** Receives the helper's stderr (logs). */
  onStderr?: (text: string) => void;
}

/** Replays one transcript; resolves with the messages seen, rejects on the first mismatch. */
export async function replayTranscript(t: Transcript, o: ReplayOptions): Promise<{ messages: unknown[] }> {
  const [cmd, ...args] = o.command;
  if (!cmd) throw new Error('replayTranscript: empty helper command');
  const child = spawn(cmd, args, { env: o.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  const seen: unknown[] = [];
  const queue: unknown[] = [];
  let wake: (() => void) | null = null;
  let exit: { code: number | null; signal: string | null } | null = null;
  let spawnError: Error | null = null;
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        msg = { unparsableLine: line };
      }
      seen.push(msg);
      queue.push(msg);
    }
    wake?.();
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => o.onStderr?.(d));
  child.stdin.on('error', () => undefined); // EPIPE when the helper exits first: reported below
  child.on('error', (e) => {
    spawnError = e;
    wake?.();
  });
  child.on('exit', (code, signal) => {
    exit = { code, signal };
    wake?.();
  });
  const waitFor = async (cond: () => boolean, ms: number): Promise<boolean> => {
    const until = Date.now() + ms;
    while (!cond()) {
      if (spawnError) throw spawnError;
      const left = until - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((res) => {
        const timer = setTimeout(res, left);
        wake = () => {
          clearTimeout(timer);
          res();
        };
      });
      wake = null;
    }
    return true;
  };
  const fail = (step: TranscriptStep, why: string): Error =>
    new Error(`${t.name}.jsonl:${step.line}: ${why}`);
  const timeout = o.messageTimeoutMs ?? 10_000;
  try {
    for (const step of t.steps) {
      if (step.kind === 'send') {
        const p = substitute(step.payload, o.placeholders);
        const text = typeof p === 'string' ? p : JSON.stringify(p);
        for (let i = 0; i < step.repeat; i++) child.stdin.write(text + '\n');
      } else if (step.kind === 'sendOversized') {
        child.stdin.write(oversizedLine(step.bytes, step.id) + '\n');
      } else if (step.kind === 'closeStdin') {
        child.stdin.end();
      } else if (step.kind === 'expect') {
        const pattern = substitute(step.pattern, o.placeholders);
        for (let i = 0; i < step.repeat; i++) {
          if (!(await waitFor(() => queue.length > 0 || exit !== null, timeout)) || queue.length === 0)
            throw fail(step, `no message within ${timeout} ms${exit ? ' (the helper exited)' : ''}; expected ${JSON.stringify(pattern)}`);
          const msg = queue.shift();
          const m = matchPattern(pattern, msg);
          if (m) throw fail(step, `${m}\n  message: ${JSON.stringify(msg)}`);
        }
      } else {
        if (!(await waitFor(() => exit !== null, 5000))) throw fail(step, 'the helper did not exit within 5 s');
        const e = exit as unknown as { code: number | null; signal: string | null };
        if (e.code !== step.code) throw fail(step, `exit status ${e.code ?? 'signal ' + e.signal}, expected ${step.code}`);
        if (queue.length) throw fail(step, `unexpected messages before exit: ${JSON.stringify(queue)}`);
      }
    }
    if (queue.length) throw new Error(`${t.name}.jsonl: unexpected extra messages: ${JSON.stringify(queue)}`);
    return { messages: seen };
  } finally {
    if (exit === null) {
      child.stdin.destroy();
      child.kill('SIGKILL');
    }
  }
}

/** How a helper names things: unix paths and socket channel (default), or Windows paths as
 * Wine maps them (Z:\\...) and a named-pipe channel, for `wine hcs-helper.exe`. */
export type PathStyle = 'unix' | 'wine';

/** A unix path as a Windows program under Wine sees it. */
export function winePath(p: string): string {
  return 'Z:' + p.replace(/\//g, '\\');
}

/** True when a transcript can run against a helper of this path style. */
export function transcriptApplies(t: Transcript, o: { vm: boolean; style: PathStyle }): boolean {
  if (t.requires.includes('vm') && !o.vm) return false;
  if (t.requires.includes('unix-channel') && o.style !== 'unix') return false;
  return true;
}

/** Scratch files for the placeholders; `vm` mode needs real kernel/initrd paths from the caller. */
export function scratchPlaceholders(
  real?: { kernel: string; initrd: string; cmdline: string; arch: string },
  style: PathStyle = 'unix',
): {
  vars: Record<string, string>;
  cleanup: () => void;
} {
  // Short base: the channel socket path must stay under the 100-byte unix socket limit.
  const base = mkdtempSync(join(tmpdir(), 'viv-tr-'));
  const rundir = join(base, 'run');
  const share = join(base, 'share');
  mkdirSync(rundir, { mode: 0o700 });
  mkdirSync(share);
  let kernel = real?.kernel;
  let initrd = real?.initrd;
  if (!kernel || !initrd) {
    kernel = join(base, 'kernel');
    initrd = join(base, 'initrd');
    writeFileSync(kernel, 'not a kernel: validation-only transcripts never boot it\n');
    writeFileSync(initrd, 'not an initrd\n');
  }
  // ${DISK}: 1 MiB of zeros, a valid raw image a VM transcript can attach (PROTOCOL.md §7).
  const disk = join(base, style === 'wine' ? 'disk.vhdx' : 'disk.img');
  writeFileSync(disk, Buffer.alloc(1 << 20));
  const hostArch = process.arch === 'arm64' ? 'arm64' : 'x86_64';
  const path = style === 'wine' ? winePath : (p: string): string => p;
  return {
    vars: {
      KERNEL: path(kernel),
      INITRD: path(initrd),
      SHARE: path(share),
      RUNDIR: path(rundir),
      CONSOLE: path(join(rundir, 'console.log')),
      // A fresh endpoint per run: nothing may exist there before start.
      CHANNEL: style === 'wine' ? `\\\\.\\pipe\\vivarium-transcript-${basename(base)}` : join(rundir, 'ssh.sock'),
      DATA_CHANNEL: style === 'wine' ? `\\\\.\\pipe\\vivarium-transcript-${basename(base)}-data` : join(rundir, 'data.sock'),
      DISK: path(disk),
      DISK_FORMAT: style === 'wine' ? 'vhdx' : 'raw',
      ARCH: real?.arch ?? hostArch,
      CMDLINE: real?.cmdline ?? 'quiet',
    },
    cleanup: () => rmSync(base, { recursive: true, force: true }),
  };
}

async function cli(argv: string[]): Promise<number> {
  const at = argv.indexOf('--helper');
  if (at < 0 || at + 1 >= argv.length) {
    console.error('usage: transcript.ts [--vm] [--wine] [--only <name>] --helper <command> [args...]');
    return 2;
  }
  const flags = argv.slice(0, at);
  const command = argv.slice(at + 1);
  const vm = flags.includes('--vm');
  const style: PathStyle = flags.includes('--wine') ? 'wine' : 'unix';
  const only = flags.includes('--only') ? flags[flags.indexOf('--only') + 1] : undefined;
  let real: Parameters<typeof scratchPlaceholders>[0];
  if (vm) {
    const { loadGuestImage, hostGuestArch } = await import('../../app/main/image/guest-image.js');
    const { guestCmdline } = await import('../../app/main/image/vm-segment.js');
    const arch = hostGuestArch();
    const img = await loadGuestImage(arch);
    real = {
      kernel: img.kernel,
      initrd: img.initrd,
      arch,
      cmdline: guestCmdline({ shareKind: '9p', readOnly: true, channelKind: 'virtio-serial', arch }),
    };
  }
  let failed = 0;
  let ran = 0;
  for (const t of loadTranscripts()) {
    if (only && t.name !== only) continue;
    if (!transcriptApplies(t, { vm, style })) {
      console.log(`skip  ${t.name} (needs ${t.requires.join(', ')})`);
      continue;
    }
    const { vars, cleanup } = scratchPlaceholders(real, style);
    const t0 = Date.now();
    let log = '';
    try {
      ran++;
      await replayTranscript(t, {
        command,
        placeholders: vars,
        messageTimeoutMs: vm ? 120_000 : 10_000,
        onStderr: (s) => (log = (log + s).slice(-4000)),
      });
      console.log(`ok    ${t.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL  ${t.name}: ${(e as Error).message}\n  helper stderr (tail):\n${log.replace(/^/gm, '    ')}`);
    } finally {
      cleanup();
    }
  }
  console.log(`transcripts: ${ran - failed} passed, ${failed} failed`);
  return failed || ran === 0 ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}

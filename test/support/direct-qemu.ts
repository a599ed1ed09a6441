/**
 * Test launcher that boots a guest image with qemu-system-* directly (no helper), so the guest
 * image suite tests the image itself. TCG, q35 (x86_64) or virt (arm64); 9p share; SSH channel
 * on a virtio-serial port bound to a unix socket; QMP socket for power-button tests.
 * Every VM lives in its own work folder, which also marks its qemu process (see `ownQemuPids`).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GuestImage } from '../../app/main/image/guest-image.js';
import { generateVmKeys, type VmKeys } from '../../app/main/image/vm-keys.js';
import { buildVmSegment, guestCmdline, writeVmInitrd } from '../../app/main/image/vm-segment.js';

export interface DirectVmOptions {
  image: GuestImage;
  /** The workspace share; `kind` 'virtiofs' runs QEMU's virtiofsd (root only on Debian 12). */
  share?: { hostPath: string; readOnly: boolean; kind?: '9p' | 'virtiofs' };
  memoryMiB?: number;
  cpus?: number;
  /** Overrides the generated keys (e.g. to boot with a known host key). */
  keys?: VmKeys;
  /** Extra qemu arguments (debugging: `-d trace:virtio_serial*`). */
  extraArgs?: string[];
  /** Extra kernel parameters (debugging: `initcall_debug`). */
  extraCmdline?: string[];
}

/** A running test VM. */
export interface DirectVm {
  dir: string;
  keys: VmKeys;
  sshSocket: string;
  consoleLog: string;
  proc: ChildProcess;
  /** performance.now() when qemu was spawned. */
  spawnedAt: number;
  /** Resolves when qemu exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends one QMP command and returns its reply. */
  qmp(execute: string, args?: Record<string, unknown>): Promise<unknown>;
  /** Kills qemu (SIGTERM, then SIGKILL) and waits for it. Safe to call twice. */
  kill(): Promise<void>;
  /** The console log so far (for failure messages). */
  console(): string;
}

const QBOOT = '/usr/share/qemu/qboot.rom';
/** Debian 12's C virtiofsd (package qemu-system-common); it needs real root (BACKENDS 3.1). */
export const VIRTIOFSD = '/usr/lib/qemu/virtiofsd';

/** Boots `image` under TCG with a fresh per-VM initrd (new keys) in a new temp folder. */
export async function bootDirect(o: DirectVmOptions): Promise<DirectVm> {
  const dir = mkdtempSync(join(tmpdir(), 'viv-guest-test-'));
  const keys = o.keys ?? generateVmKeys('test');
  const initrd = join(dir, 'initrd.img');
  await writeVmInitrd(o.image.initrd, buildVmSegment({ authorizedKeys: keys.clientPublicKey, hostPrivateKey: keys.hostPrivateKey }), initrd);
  const cmdline = guestCmdline({
    arch: o.image.arch,
    shareKind: o.share ? (o.share.kind ?? '9p') : 'none',
    readOnly: o.share?.readOnly ?? false,
    channelKind: 'virtio-serial',
    debug: process.env.VIVARIUM_GUEST_DEBUG === '1',
    extra: o.extraCmdline ?? [],
  });
  const sshSocket = join(dir, 'ssh.sock');
  const qmpSocket = join(dir, 'qmp.sock');
  const consoleLog = join(dir, 'console.log');
  const x86 = o.image.arch === 'x86_64';
  const args = [
    // qboot (a minimal firmware shipped with QEMU) boots the PVH vmlinux ~0.5 s sooner than SeaBIOS under TCG.
    ...(x86 ? ['-accel', 'tcg', '-M', 'q35', '-cpu', 'max', ...(existsSync(QBOOT) ? ['-bios', QBOOT] : [])]
      : ['-accel', 'tcg', '-M', 'virt', '-cpu', 'max,pauth-impdef=on']),
    '-smp', String(o.cpus ?? 2), '-m', String(o.memoryMiB ?? 512),
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-kernel', o.image.kernel, '-initrd', initrd, '-append', cmdline,
    '-serial', `file:${consoleLog}`,
    '-device', 'virtio-rng-pci',
    '-device', 'virtio-serial-pci,id=vser0',
    '-chardev', `socket,id=ssh0,path=${sshSocket},server=on,wait=off`,
    '-device', 'virtserialport,bus=vser0.0,chardev=ssh0,name=vivarium.ssh',
    '-qmp', `unix:${qmpSocket},server=on,wait=off`,
  ];
  let virtiofsd: ChildProcess | undefined;
  if (o.share?.kind === 'virtiofs') {
    // vhost-user needs guest RAM in shared memory of the same size as -m.
    const fsSocket = join(dir, 'fs.sock');
    virtiofsd = spawn(VIRTIOFSD, [`--socket-path=${fsSocket}`, '-o', `source=${o.share.hostPath}`, '-o', 'cache=auto', '-o', 'sandbox=chroot'],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    const t0 = Date.now();
    while (!existsSync(fsSocket)) {
      if (virtiofsd.exitCode !== null || Date.now() - t0 > 10_000) throw new Error('virtiofsd did not start');
      await new Promise((r) => setTimeout(r, 20));
    }
    const mem = String(o.memoryMiB ?? 512);
    args.push('-object', `memory-backend-memfd,id=mem,size=${mem}M,share=on`, '-numa', 'node,memdev=mem');
    args.push('-chardev', `socket,id=vfs0,path=${fsSocket}`, '-device', 'vhost-user-fs-pci,chardev=vfs0,tag=workspace');
  } else if (o.share) {
    const ro = o.share.readOnly ? ',readonly=on' : '';
    args.push('-fsdev', `local,id=fs0,path=${o.share.hostPath},security_model=none,multidevs=remap${ro}`);
    args.push('-device', 'virtio-9p-pci,fsdev=fs0,mount_tag=workspace');
  }
  args.push(...(o.extraArgs ?? []));
  const bin = x86 ? 'qemu-system-x86_64' : 'qemu-system-aarch64';
  const spawnedAt = performance.now();
  const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  // A test process that dies (uncaught error, vitest teardown) must not leave its qemu behind.
  const killOnExit = (): void => { proc.kill('SIGKILL'); virtiofsd?.kill('SIGKILL'); };
  process.once('exit', killOnExit);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      process.removeListener('exit', killOnExit);
      virtiofsd?.kill('SIGTERM'); // it also exits by itself when qemu closes the socket
      resolve({ code, signal });
    });
    proc.once('error', () => resolve({ code: -1, signal: null }));
  });
  const readConsole = (): string => {
    try {
      return readFileSync(consoleLog, 'utf8') + (stderr ? `\n[qemu stderr]\n${stderr}` : '');
    } catch {
      return stderr;
    }
  };
  // Wait for qemu to create its sockets (or die trying).
  const t0 = Date.now();
  while (Date.now() - t0 < 30_000) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${bin} exited at start: ${readConsole()}`);
    const isSocket = (p: string): boolean => { try { return statSync(p).isSocket(); } catch { return false; } };
    if (isSocket(sshSocket) && isSocket(qmpSocket)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  let killed = false;
  return {
    dir, keys, sshSocket, consoleLog, proc, spawnedAt, exited,
    qmp: (execute, qargs) => qmpCommand(qmpSocket, execute, qargs),
    console: readConsole,
    kill: async () => {
      if (!killed && proc.exitCode === null && proc.signalCode === null) {
        killed = true;
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      await exited;
    },
  };
}

/** One QMP exchange: greeting, qmp_capabilities, the command; returns its `return` (events skipped). */
export function qmpCommand(path: string, execute: string, args?: Record<string, unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let buf = '';
    let step = 0;
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`QMP ${execute}: timeout`)); }, 10_000);
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
        buf = buf.slice(nl + 1);
        if ('event' in msg) continue;
        if (step === 0 && 'QMP' in msg) { s.write(JSON.stringify({ execute: 'qmp_capabilities' }) + '\n'); step = 1; continue; }
        if (step === 1 && 'return' in msg) { s.write(JSON.stringify({ execute, ...(args ? { arguments: args } : {}) }) + '\n'); step = 2; continue; }
        if (step === 2) {
          clearTimeout(timer);
          s.end();
          if ('error' in msg) reject(new Error(`QMP ${execute}: ${JSON.stringify(msg.error)}`));
          else resolve(msg.return);
        }
      }
    });
  });
}

/** PIDs of qemu processes whose command line mentions `marker` (a test's own work folder). */
export function ownQemuPids(marker: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', `qemu-system-.*${marker}`], { encoding: 'utf8' })
      .split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

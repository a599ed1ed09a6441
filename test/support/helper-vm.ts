/**
 * Boots one real VM through the built qemu-helper and connects to its guest over SSH, the way
 * main does: per-VM keys and initrd segment, HelperClient for the protocol, GuestConnection over
 * the channel socket the helper reported. Used by the conformance suites and bench/boot.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GuestConnection } from '../../app/main/guest/guest-connection.js';
import { hostGuestArch, loadGuestImage, type GuestArch, type GuestImage } from '../../app/main/image/guest-image.js';
import { generateVmKeys, type VmKeys } from '../../app/main/image/vm-keys.js';
import { buildVmSegment, guestCmdline, writeVmInitrd } from '../../app/main/image/vm-segment.js';
import { HelperClient } from '../../app/main/vm/helper-client.js';
import { defaultHelperPath } from '../../app/main/vm/helper-process.js';
import type { HelperEvent, StartResult, VmDisk, VmShare } from '../../app/main/vm/helper-protocol.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The helper under test: $VIVARIUM_HELPER, or the platform's helper in dist/native. */
export function helperPath(): string {
  return defaultHelperPath();
}

/** Rejects with `why()` if `p` does not settle within `ms`. */
async function withTimeout<T>(p: Promise<T>, ms: number, why: () => Promise<string>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => void why().then((w) => reject(new Error(w))), ms);
  });
  try {
    return await Promise.race([p, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** True when the helper is built and a guest image exists (the conformance suites need both). */
export function vmPrerequisites(): { ok: boolean; why: string } {
  if (!existsSync(helperPath())) return { ok: false, why: `${helperPath()} is not built (bash native/build.sh)` };
  const dir = process.env.VIVARIUM_GUEST_DIR ?? join(repo, 'dist/guest');
  if (!existsSync(join(dir, hostGuestArch(), 'manifest.json'))) return { ok: false, why: `no guest image in ${dir} (bash guest-image/build.sh)` };
  return { ok: true, why: '' };
}

/** What bootVm needs; everything has a default. */
export interface BootOptions {
  name?: string;
  /** Guest arch; default the host's. A foreign arch boots under TCG. */
  arch?: GuestArch;
  /** One share, mounted at /workspace in the guest (the guest image mounts the tag "workspace"). */
  share?: { hostPath: string; readOnly: boolean };
  /** How the share is carried: 9p (default) or virtiofs (needs a root helper). */
  shareKind?: '9p' | 'virtiofs';
  cpus?: number;
  memoryMiB?: number;
  /** Boot this kernel instead of the image's (bench: bzImage through firmware). */
  kernel?: string;
  /** Use this base initramfs instead of the image's (experiments). */
  baseInitrd?: string;
  /** Extra kernel parameters (one word each). */
  extraCmdline?: string[];
  /** Block devices (PROTOCOL.md §5.2.1), /dev/vda... in the guest. */
  disks?: VmDisk[];
  /** Data channels by name (§5.2.2); each endpoint is `<runDir>/<name>.sock`, guest port 0x12000 + i. */
  dataChannels?: string[];
  /** Budget from start to the first SSH command. */
  sshTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** A booted VM and the handles to drive and observe it. */
export interface BootedVm {
  client: HelperClient;
  ssh: GuestConnection;
  started: StartResult;
  keys: VmKeys;
  runDir: string;
  consoleLog: string;
  events: HelperEvent[];
  /** ms from sending `start` to its reply, and to the first successful SSH command; QEMU's CPU
   * time (user + system) at that point, a figure that machine load disturbs far less. */
  timings: { startReplyMs: number; firstCommandMs: number; qemuCpuMs: number | null };
  /** Runs a shell command in the guest. */
  run(cmd: string): Promise<{ stdout: string; stderr: string; exitCode: number | null }>;
  /** Closes SSH, closes the helper (which force-stops the VM) and removes the run dir. */
  dispose(): Promise<void>;
}

const images = new Map<GuestArch, GuestImage>();

/** Boots a VM and waits until one SSH command succeeded. On failure nothing is left behind. */
export async function bootVm(o: BootOptions = {}): Promise<BootedVm> {
  const arch = o.arch ?? hostGuestArch();
  const image = images.get(arch) ?? (await loadGuestImage(arch));
  images.set(arch, image);
  const name = o.name ?? 'conformance';
  // Short path: the channel socket must fit the 100-byte unix socket limit.
  const runDir = await mkdtemp(join(tmpdir(), 'viv-vm-'));
  const keys = generateVmKeys(name);
  const initrd = join(runDir, 'initrd.img');
  const consoleLog = join(runDir, 'console.log');
  const events: HelperEvent[] = [];
  let client: HelperClient | null = null;
  let ssh: GuestConnection | null = null;
  const dispose = async (): Promise<void> => {
    ssh?.close();
    await client?.close();
    await rm(runDir, { recursive: true, force: true });
  };
  try {
    await writeVmInitrd(o.baseInitrd ?? image.initrd, buildVmSegment({ authorizedKeys: keys.clientPublicKey, hostPrivateKey: keys.hostPrivateKey }), initrd);
    client = await HelperClient.launch({ command: helperPath(), env: o.env, onLog: () => undefined });
    client.onEvent((e) => events.push(e));
    const shares: VmShare[] = o.share ? [{ tag: 'workspace', hostPath: o.share.hostPath, readOnly: o.share.readOnly }] : [];
    const sshBudget = o.sshTimeoutMs ?? 120_000;
    const t0 = performance.now();
    const started = await client.start({
      name,
      arch: image.arch,
      kernel: o.kernel ?? image.kernel,
      initrd,
      cmdline: guestCmdline({ shareKind: o.share ? (o.shareKind ?? '9p') : 'none', readOnly: o.share?.readOnly ?? false, channelKind: 'virtio-serial', arch: image.arch, extra: o.extraCmdline }),
      cpus: o.cpus ?? 2,
      memoryMiB: o.memoryMiB ?? 512,
      shares,
      shareKind: o.shareKind ?? '9p',
      channelPath: join(runDir, 'ssh.sock'),
      consoleLog,
      ...(o.disks ? { disks: o.disks } : {}),
      ...(o.dataChannels ? { dataChannels: o.dataChannels.map((n, i) => ({ name: n, path: join(runDir, `${n}.sock`), guestPort: 0x12000 + i })) } : {}),
    });
    const startReplyMs = performance.now() - t0;
    ssh = await GuestConnection.open(
      { socketPath: started.channel.path, privateKey: keys.clientPrivateKey, hostPublicKey: keys.hostPublicKey },
      // Attempts as long as main's (GuestConnection's default): an SSH handshake is slow under
      // TCG on a loaded machine, and aborting it early only makes the guest bridge resync.
      { timeoutMs: sshBudget, attemptMs: process.env.VIVARIUM_SSH_ATTEMPT_MS ? Number(process.env.VIVARIUM_SSH_ATTEMPT_MS) : undefined },
    );
    const conn0 = ssh;
    const left = Math.max(5000, sshBudget - (performance.now() - t0));
    const first = await withTimeout(conn0.run('true', { cwd: '/' }), left, async () => {
      const tail = (await readFile(consoleLog, 'utf8').catch(() => '')).slice(-2000);
      return `the first SSH command did not finish within ${Math.round(left / 1000)} s (SSH was up); console tail: ${JSON.stringify(tail)}`;
    });
    if (first.exitCode !== 0) throw new Error(`first SSH command failed: ${JSON.stringify(first)}`);
    const firstCommandMs = performance.now() - t0;
    const qemuCpuMs = started.pid ? cpuTimeMs(started.pid) : null;
    const conn = ssh;
    return {
      client,
      ssh: conn,
      started,
      keys,
      runDir,
      consoleLog,
      events,
      timings: { startReplyMs, firstCommandMs, qemuCpuMs },
      run: (cmd) => conn.run(cmd, { cwd: '/' }),
      dispose,
    };
  } catch (e) {
    await dispose();
    throw e;
  }
}

/** The built helper's `hello` answer (features decide which suites apply). */
export async function helperHello(): Promise<HelperClient['hello']> {
  const c = await HelperClient.launch({ command: helperPath() });
  try {
    return c.hello;
  } finally {
    await c.close();
  }
}

/** CPU time (user + system) a process has used, from /proc (Linux); null if unreadable. */
export function cpuTimeMs(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * (1000 / 100); // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

/** True while a process with this pid exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Waits until `cond` holds or `ms` passed; returns whether it held. */
export async function waitUntil(cond: () => boolean, ms: number, stepMs = 50): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return cond();
}

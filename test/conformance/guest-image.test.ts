/**
 * The guest image itself, booted with qemu directly (no helper) under TCG: SSH over the
 * virtio-serial channel with the pinned host key, both arches, 9p read-write and read-only,
 * repeated boots, clean power-off, and refusal of tampered artifacts before boot.
 * Needs `npm run guest:build` first (scripts/test.sh runs it as an earlier stage).
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVivError } from '../../app/shared/errors.js';
import { defaultGuestDir, loadGuestImage, type GuestImage } from '../../app/main/image/guest-image.js';
import { generateVmKeys } from '../../app/main/image/vm-keys.js';
import { bootDirect, ownQemuPids, VIRTIOFSD, type DirectVm, type DirectVmOptions } from '../support/direct-qemu.js';
import { Client } from 'ssh2';
import { hostKeyVerifier } from '../../app/main/image/vm-keys.js';
import { connectOnce, connectWithRetry, execOn, type GuestSsh } from '../support/ssh.js';

const SSH_DEADLINE_MS = 120_000; // TCG on 2 shared cores: boots take seconds, but allow for load
const vms: DirectVm[] = [];
const temps: string[] = [];

afterAll(async () => {
  for (const vm of vms) await vm.kill();
  for (const vm of vms) {
    expect(ownQemuPids(vm.dir), `qemu left running for ${vm.dir}`).toEqual([]);
    rmSync(vm.dir, { recursive: true, force: true });
  }
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

/** Boots and connects; returns the time from qemu spawn to the first successful command. */
async function bootAndConnect(o: DirectVmOptions): Promise<{ vm: DirectVm; ssh: GuestSsh; bootMs: number }> {
  const vm = await bootDirect(o);
  vms.push(vm);
  let ssh: GuestSsh;
  try {
    ssh = await connectWithRetry({
      socketPath: vm.sshSocket, privateKey: vm.keys.clientPrivateKey, hostPublicKey: vm.keys.hostPublicKey,
      timeoutMs: SSH_DEADLINE_MS,
    });
  } catch (e) {
    throw new Error(`${String(e)}\n--- console ---\n${vm.console().slice(-4000)}`);
  }
  const r = await ssh.exec('true');
  expect(r.code).toBe(0);
  return { vm, ssh, bootMs: Math.round(performance.now() - vm.spawnedAt) };
}

/** Powers the guest off over SSH and expects qemu to exit by itself (-no-reboot). */
async function powerOff(vm: DirectVm, ssh: GuestSsh): Promise<void> {
  ssh.client.exec('poweroff -f', () => undefined);
  const res = await Promise.race([vm.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000))]);
  ssh.close();
  expect(res, 'qemu did not exit after poweroff -f in the guest').not.toBe('timeout');
}

/** Rejects when `p` has not settled after `ms` (a hung channel must fail the test, not stall it). */
function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { t = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/** Starts an SSH handshake on the channel socket and drops the socket after `ms` (or once ready). */
async function abortedHandshake(socketPath: string, keys: { clientPrivateKey: string; hostPublicKey: string }, ms: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const sock = netConnect(socketPath);
    const c = new Client();
    const done = (): void => { clearTimeout(t); c.destroy(); sock.destroy(); resolve(); };
    const t = setTimeout(done, ms);
    c.on('error', () => undefined);
    c.on('ready', done);
    sock.on('error', done);
    sock.once('connect', () => c.connect({
      sock, username: 'root', privateKey: keys.clientPrivateKey, hostVerifier: hostKeyVerifier(keys.hostPublicKey), readyTimeout: 60_000,
    }));
  });
}

type Snapshot = Record<string, { sha256: string; mtimeMs: number; mode: number }>;
function snapshot(root: string): Snapshot {
  const out: Snapshot = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      const hash = st.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex') : 'dir';
      out[p.slice(root.length)] = { sha256: hash, mtimeMs: st.mtimeMs, mode: st.mode };
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

let x86: GuestImage;
let arm: GuestImage;

describe('guest image (direct qemu, TCG)', () => {
  beforeAll(async () => {
    x86 = await loadGuestImage('x86_64');
    arm = await loadGuestImage('arm64');
  });

  it('verifies both built images against their manifests', () => {
    expect(x86.kernel.endsWith('/vmlinux')).toBe(true);
    expect(arm.kernel.endsWith('/Image')).toBe(true);
    for (const img of [x86, arm]) {
      const size = statSync(img.initrd).size;
      console.log(JSON.stringify({ metric: 'guest-initramfs-bytes', arch: img.arch, bytes: size }));
      expect(size).toBeLessThanOrEqual(12 * 1024 * 1024);
    }
  });

  it('x86_64: SSH with the pinned host key, uname -m, 9p read-write keeps bytes, clean poweroff', async () => {
    const share = tempDir('viv-share-rw-');
    const { vm, ssh, bootMs } = await bootAndConnect({ image: x86, share: { hostPath: share, readOnly: false } });
    console.log(JSON.stringify({ metric: 'guest-boot-to-ssh-ms', arch: 'x86_64', ms: bootMs }));
    expect((await ssh.exec('uname -m')).stdout.trim()).toBe('x86_64');
    const payload = randomBytes(300_000);
    const w = await ssh.exec('cat > /workspace/blob.bin && sync', payload);
    expect(w.code, w.stderr).toBe(0);
    expect(createHash('sha256').update(readFileSync(join(share, 'blob.bin'))).digest('hex'))
      .toBe(createHash('sha256').update(payload).digest('hex'));
    // Loopback only: no other interface exists, and lo is up with 127.0.0.1.
    const ifs = await ssh.exec('ls /sys/class/net');
    expect(ifs.stdout.trim().split(/\s+/)).toEqual(['lo']);
    expect((await ssh.exec('ip -4 addr show dev lo')).stdout).toContain('inet 127.0.0.1/8');
    // PID 1 reaps orphans: a grandchild whose parent is gone exits and must not stay a zombie.
    const z = await ssh.exec(
      '(sleep 0.3 &); sleep 2; for f in /proc/[0-9]*/stat; do read -r pid comm state rest < "$f" && [ "$state" = Z ] && echo "zombie $pid $comm"; done; true');
    expect(z.code).toBe(0);
    expect(z.stdout).toBe('');
    await powerOff(vm, ssh);
  });

  it('arm64: SSH with the pinned host key, uname -m is aarch64, 9p write, power button (gpio-keys)', async () => {
    const share = tempDir('viv-share-arm-');
    const { vm, ssh, bootMs } = await bootAndConnect({ image: arm, share: { hostPath: share, readOnly: false } });
    console.log(JSON.stringify({ metric: 'guest-boot-to-ssh-ms', arch: 'arm64', ms: bootMs }));
    expect((await ssh.exec('uname -m')).stdout.trim()).toBe('aarch64');
    const w = await ssh.exec('printf arm64-bytes > /workspace/a.txt');
    expect(w.code, w.stderr).toBe(0);
    expect(readFileSync(join(share, 'a.txt'), 'utf8')).toBe('arm64-bytes');
    // QEMU virt's power button is a gpio-keys node (PL061): QMP system_powerdown must power the
    // guest off through gpio_keys + evdev + acpid, as the ACPI button does on x86.
    const ready = await ssh.exec('i=0; until pidof acpid >/dev/null; do i=$((i+1)); [ $i -gt 300 ] && exit 1; usleep 100000; done; grep -o "^gpio_keys" /proc/modules');
    expect(ready.code, 'acpid did not start on arm64').toBe(0);
    expect(ready.stdout.trim()).toBe('gpio_keys');
    ssh.close();
    await vm.qmp('system_powerdown');
    const res = await Promise.race([vm.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000))]);
    expect(res, 'arm64 guest ignored the power button (gpio-keys)').not.toBe('timeout');
  });

  it('9p read-only: writes, renames, deletes and chmod fail in the guest; host tree unchanged', async () => {
    const share = tempDir('viv-share-ro-');
    writeFileSync(join(share, 'keep.txt'), 'original\n');
    mkdirSync(join(share, 'sub'));
    writeFileSync(join(share, 'sub', 'inner.bin'), randomBytes(4096));
    const before = snapshot(share);
    const { vm, ssh } = await bootAndConnect({ image: x86, share: { hostPath: share, readOnly: true } });
    expect((await ssh.exec('grep " /workspace " /proc/mounts')).stdout).toMatch(/ 9p ro[ ,]/);
    expect((await ssh.exec('cat /workspace/keep.txt')).stdout).toBe('original\n');
    const attempts = [
      'echo x > /workspace/new.txt',
      'echo x >> /workspace/keep.txt',
      'mv /workspace/keep.txt /workspace/moved.txt',
      'rm /workspace/sub/inner.bin',
      'chmod 777 /workspace/keep.txt',
      'touch /workspace/keep.txt',
      'mkdir /workspace/newdir',
      // Even a guest that remounts read-write is stopped by QEMU's readonly=on.
      'mount -o remount,rw /workspace && echo x > /workspace/keep.txt',
    ];
    for (const cmd of attempts) {
      const r = await ssh.exec(cmd);
      expect(r.code, `"${cmd}" succeeded on a read-only share`).not.toBe(0);
    }
    expect(snapshot(share)).toEqual(before);
    // The ACPI power button (QMP system_powerdown) powers the guest off too.
    ssh.close();
    await vm.qmp('system_powerdown');
    const res = await Promise.race([vm.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000))]);
    expect(res, 'guest ignored the ACPI power button').not.toBe('timeout');
  });

  it.skipIf(process.getuid?.() !== 0 || !existsSync(VIRTIOFSD))('virtiofs share (the VZ path): mounted read-write, bytes reach the host', async () => {
    // Debian 12's virtiofsd runs only as root (the test is skipped otherwise).
    const share = tempDir('viv-share-vfs-');
    writeFileSync(join(share, 'in.txt'), 'from-host');
    const { vm, ssh } = await bootAndConnect({ image: x86, share: { hostPath: share, readOnly: false, kind: 'virtiofs' } });
    expect((await ssh.exec('grep " /workspace " /proc/mounts')).stdout).toMatch(/^workspace \/workspace virtiofs rw/);
    expect((await ssh.exec('cat /workspace/in.txt && printf vfs-bytes > /workspace/out.txt && sync')).stdout).toBe('from-host');
    expect(readFileSync(join(share, 'out.txt'), 'utf8')).toBe('vfs-bytes');
    await powerOff(vm, ssh);
  });

  it('refuses a host key other than the pinned one, and reconnects with the right one', async () => {
    const { vm, ssh } = await bootAndConnect({ image: x86 });
    ssh.close();
    const other = generateVmKeys('other');
    await expect(connectOnce({
      socketPath: vm.sshSocket, privateKey: vm.keys.clientPrivateKey, hostPublicKey: other.hostPublicKey, timeoutMs: 30_000,
    })).rejects.toThrow(/host key|verification/i);
    const again = await connectWithRetry({
      socketPath: vm.sshSocket, privateKey: vm.keys.clientPrivateKey, hostPublicKey: vm.keys.hostPublicKey, timeoutMs: 60_000,
    });
    expect((await again.exec('echo ok')).stdout).toBe('ok\n');
    // The vsock server mode (VZ, HCS, vhost-vsock), reached here through vsock_loopback:
    // a second SSH session runs over an exec channel bridged to AF_VSOCK CID 1 port 2222.
    const start = await again.exec(
      'modprobe vsock_loopback && setsid vsh vsock 2222 /bin/dropbear -i -s -g -r /vivarium/dropbear_host_key </dev/null >/dev/null 2>&1 &');
    expect(start.code, start.stderr).toBe(0);
    const inner = await new Promise<GuestSsh>((resolve, reject) => {
      let tries = 0;
      const attempt = (): void => {
        again.client.exec('vsh vsock-connect 1 2222', (err, stream) => {
          if (err) return reject(err);
          const c = new Client();
          c.on('ready', () => resolve({ client: c, exec: (cmd) => execOn(c, cmd), close: () => c.end() }));
          c.on('error', (e) => (++tries < 20 ? setTimeout(attempt, 250) : reject(e)));
          c.connect({ sock: stream, username: 'root', privateKey: vm.keys.clientPrivateKey, hostVerifier: hostKeyVerifier(vm.keys.hostPublicKey) });
        });
      };
      attempt();
    });
    const viaVsock = await inner.exec('echo over-vsock; ls -l /proc/self/fd/0');
    expect(viaVsock.stdout).toContain('over-vsock');
    inner.close();
    // A client key the guest does not know is refused as well.
    again.close();
    await expect(connectOnce({
      socketPath: vm.sshSocket, privateKey: other.clientPrivateKey, hostPublicKey: vm.keys.hostPublicKey, timeoutMs: 30_000,
    })).rejects.toThrow(/authentication/i);
    await vm.kill();
  });

  it('200 short commands, 8 at a time, over one SSH connection: no channel failures (mkj/dropbear#321)', async () => {
    // dropbear 2022.83 closes a channel being opened when another session's process exits at
    // that moment ("Unable to exec"), or dies on common-channel.c:705; the image ships dropbear
    // from trixie (2025.x) which has the fix. Every command must run and report its own output.
    const { vm, ssh } = await bootAndConnect({ image: x86 });
    const total = 200;
    const parallel = 8;
    const failures: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total && failures.length < 16) { // a broken server fails fast, not 200 times
        const i = next++;
        try {
          const r = await withDeadline(ssh.exec(`echo ${i}`), 60_000, `command #${i}`);
          if (r.code !== 0 || r.stdout !== `${i}\n`) failures.push(`#${i}: code ${r.code} stdout ${JSON.stringify(r.stdout)}`);
        } catch (e) {
          failures.push(`#${i}: ${String(e)}`);
        }
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: parallel }, worker));
    const ms = Math.round(performance.now() - t0);
    console.log(JSON.stringify({ metric: 'guest-parallel-exec', total, parallel, ms, failures: failures.length, first: failures.slice(0, 3) }));
    expect(failures, `${failures.length} of ${total} commands failed`).toEqual([]);
    expect((await ssh.exec('dropbear -V 2>&1; true')).stdout + '').toMatch(/Dropbear v20(2[4-9]|[3-9]\d)/);
    await powerOff(vm, ssh);
  }, 600_000);

  it('handshakes aborted at any point, then a real connection: its commands complete', async () => {
    // A host that gives up on slow handshakes (e.g. 1.5 s attempts while the guest boots) closes
    // the channel mid-handshake and connects again at once; the next session must be clean.
    const { vm, ssh } = await bootAndConnect({ image: x86 });
    ssh.close();
    const outcomes: string[] = [];
    for (let round = 0; round < 12; round++) {
      const abortAfterMs = [0, 5, 20, 60, 120, 250, 400, 600, 800, 1000, 1200, 1500][round]!;
      await abortedHandshake(vm.sshSocket, vm.keys, abortAfterMs);
      try {
        const c = await connectWithRetry({
          socketPath: vm.sshSocket, privateKey: vm.keys.clientPrivateKey, hostPublicKey: vm.keys.hostPublicKey,
          timeoutMs: 60_000, attemptTimeoutMs: 20_000,
        });
        const r = await withDeadline(c.exec(`echo round-${round}`), 30_000, `first command after an abort at ${abortAfterMs} ms`);
        c.close();
        outcomes.push(r.stdout === `round-${round}\n` ? 'ok' : `round ${round}: wrong output ${JSON.stringify(r.stdout)}`);
      } catch (e) {
        outcomes.push(`round ${round} (abort at ${abortAfterMs} ms): ${String(e)}`);
      }
    }
    expect(outcomes.filter((o) => o !== 'ok'), vm.console().slice(-2000)).toEqual([]);
    await vm.kill();
  }, 600_000);

  it('connecting during boot with short (1.5 s) handshake attempts: the first command completes', async () => {
    // Attempts made while the guest boots are queued by QEMU and reach the guest late, after the
    // client gave up on them; the guest must not hand a stale session to the live client.
    const outcomes: string[] = [];
    for (let boot = 0; boot < 3; boot++) {
      const vm = await bootDirect({ image: x86 });
      vms.push(vm);
      let attempts = 0;
      let c: GuestSsh | undefined;
      const deadline = Date.now() + SSH_DEADLINE_MS;
      while (!c && Date.now() < deadline) {
        attempts++;
        c = await connectOnce({
          socketPath: vm.sshSocket, privateKey: vm.keys.clientPrivateKey, hostPublicKey: vm.keys.hostPublicKey,
          timeoutMs: 1500, attemptTimeoutMs: 1500,
        }).catch(() => undefined);
      }
      if (!c) { outcomes.push(`boot ${boot}: no SSH after ${attempts} attempts`); await vm.kill(); continue; }
      try {
        const r = await withDeadline(c.exec('echo first'), 30_000, `boot ${boot}: first command after ${attempts} attempts`);
        outcomes.push(r.stdout === 'first\n' ? 'ok' : `boot ${boot}: wrong output ${JSON.stringify(r.stdout)}`);
      } catch (e) {
        outcomes.push(String(e));
      }
      console.log(JSON.stringify({ metric: 'guest-short-attempts', boot, attempts, outcome: outcomes[outcomes.length - 1] }));
      c.close();
      await vm.kill();
    }
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
  }, 600_000);

  it('10 consecutive x86_64 boots all reach SSH', async () => {
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const { vm, ssh, bootMs } = await bootAndConnect({ image: x86 });
      times.push(bootMs);
      await powerOff(vm, ssh);
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(JSON.stringify({
      metric: 'guest-boot-to-ssh-ms', arch: 'x86_64', runs: times,
      p50: sorted[Math.floor((sorted.length - 1) / 2)], max: sorted[sorted.length - 1],
    }));
    expect(times).toHaveLength(10);
  }, 900_000);

  it('refuses a tampered kernel or initramfs before boot, naming file and digests', async () => {
    for (const victim of ['vmlinux', 'initramfs.img']) {
      const dir = tempDir('viv-tamper-');
      mkdirSync(join(dir, 'x86_64'));
      for (const f of readdirSync(join(defaultGuestDir(), 'x86_64'))) copyFileSync(join(defaultGuestDir(), 'x86_64', f), join(dir, 'x86_64', f));
      const p = join(dir, 'x86_64', victim);
      const bytes = readFileSync(p);
      const mid = bytes.length >> 1;
      bytes[mid] = bytes[mid]! ^ 0x01;
      writeFileSync(p, bytes);
      const err = await loadGuestImage('x86_64', dir).then(() => null, (e: unknown) => e);
      expect(isVivError(err)).toBe(true);
      const msg = (err as Error).message;
      expect(msg).toContain(p);
      // The copied manifest (not the one loaded at the start: a concurrent `npm run guest:build` may have replaced the image since).
      const copied = JSON.parse(readFileSync(join(dir, 'x86_64', 'manifest.json'), 'utf8')) as { artifacts: Record<string, { sha256: string }> };
      expect(msg).toContain(copied.artifacts[victim]!.sha256);
      expect(msg).toContain(createHash('sha256').update(bytes).digest('hex'));
      expect(msg).toContain('npm run guest:build');
    }
  });
});

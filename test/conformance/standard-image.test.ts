/**
 * The standard image booted the product's way, per arch under TCG: the tiny kernel + initramfs
 * through the real qemu-helper with the standard root filesystem (dist/guest-standard/<arch>,
 * verified by loadStandardImage) as a read-only raw disk and `vivarium.root=standard`, so
 * guest-image/init mounts it under a tmpfs overlay and switches root (guest-image/README.md
 * "Standard root"). Checks that SSH sessions run in the Debian userland with the agents and
 * tools, /workspace is the share, / is the overlay, the disk is read-only from the host down,
 * writes to / land in the tmpfs and are gone at the next boot, the guest powers off both ways
 * (`poweroff -f` over SSH and the power button), the egress relay (vivarium.egress=1) serves
 * after the switch, a state disk keeps writes across boots, and a missing disk is reported over SSH
 * instead of hanging the boot. Needs `npm run guest:build` and `bash native/build.sh` first
 * (scripts/test.sh runs both as earlier stages); a missing prerequisite fails the suite.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { attachEgressRelay } from '../../app/main/egress/relay-egress.js';
import { GUEST_ARCHES, type GuestArch } from '../../app/main/image/guest-image.js';
import { loadStandardImage, type StandardImage } from '../../app/main/image/standard-image.js';
import { bootVm, helperHello, vmPrerequisites, waitUntil, type BootedVm } from '../support/helper-vm.js';

const SSH_BUDGET_MS = 300_000; // TCG on 2 shared cores; arm64 is emulated on x86 hosts
const ROOT_PARAM = 'vivarium.root=standard';
// Bun (Claude Code's runtime) crashes in its JIT on QEMU's emulated arm64 `-cpu max`; real arm64 CPUs are fine.
const bunNoJit = (arch: GuestArch): string => (arch === 'arm64' ? 'BUN_JSC_useJIT=0 ' : '');

const pre = vmPrerequisites();
const features = pre.ok ? (await helperHello()).features : null;
const images = new Map<GuestArch, StandardImage | string>();
for (const arch of GUEST_ARCHES) {
  images.set(arch, await loadStandardImage(arch).catch((e: unknown) => `the ${arch} standard image: ${String(e)}`));
}
const why = (arch: GuestArch): string => {
  if (!pre.ok) return pre.why;
  if (!features?.diskFormats.includes('raw') || !features.readOnlyDisks) return `the qemu-helper offers no read-only raw disks (features ${JSON.stringify(features)})`;
  const img = images.get(arch);
  return typeof img === 'string' ? img : '';
};

const work = mkdtempSync(join(tmpdir(), 'viv-std-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Boots `arch` on its standard image with a fresh read-write workspace share (and the egress relay channel, or a state disk). */
async function bootStandard(arch: GuestArch, name: string, workspace: string, o: { egress?: boolean; stateDisk?: string } = {}): Promise<BootedVm> {
  const img = images.get(arch) as StandardImage;
  const vm = await bootVm({
    name, arch, memoryMiB: 2048, sshTimeoutMs: SSH_BUDGET_MS,
    extraCmdline: [ROOT_PARAM, ...(o.egress ? ['vivarium.egress=1'] : []), ...(o.stateDisk ? ['vivarium.state=1'] : [])],
    share: { hostPath: workspace, readOnly: false },
    disks: [
      { id: 'standard', hostPath: img.rootfs, readOnly: true, format: img.format },
      ...(o.stateDisk ? [{ id: 'state', hostPath: o.stateDisk, readOnly: false, format: 'raw' as const }] : []),
    ],
    ...(o.egress ? { dataChannels: ['egress'] } : {}),
  });
  console.log(JSON.stringify({ metric: 'standard-boot-to-ssh-ms', arch, ms: Math.round(vm.timings.firstCommandMs), qemuCpuMs: vm.timings.qemuCpuMs }));
  return vm;
}

/** A stand-in for EgressProxy.serve: answers one HTTP request on the relayed stream. */
function answerHttp(stream: Duplex): Promise<void> {
  return new Promise((resolve) => {
    stream.once('close', () => resolve());
    stream.on('error', () => stream.destroy());
    stream.once('data', () => stream.end('HTTP/1.0 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello-relay'));
  });
}

/** Runs `cmd` and expects exit 0; returns stdout. */
async function ok(vm: BootedVm, cmd: string): Promise<string> {
  const r = await vm.run(cmd);
  expect(r.exitCode, `${cmd}\n${r.stdout}${r.stderr}`).toBe(0);
  return r.stdout;
}

it('has the helper with read-only disks and both standard images', () => {
  expect(pre.why).toBe('');
  for (const arch of GUEST_ARCHES) expect(why(arch), arch).toBe('');
});

for (const arch of GUEST_ARCHES) {
  describe.skipIf(why(arch) !== '')(`standard image (${arch}, TCG, qemu-helper)`, () => {
    let vm: BootedVm | null = null;
    afterEach(async () => {
      await vm?.dispose();
      vm = null;
    });

    it('switches into the Debian root: agents and tools run, /workspace is the share, / is a tmpfs overlay on a read-only disk; writes vanish at the next boot', async () => {
      const img = images.get(arch) as StandardImage;
      const before = statSync(img.rootfs);
      const workspace = mkdtempSync(join(work, `ws-${arch}-`));
      writeFileSync(join(workspace, 'from-host.txt'), 'written on the host\n');
      vm = await bootStandard(arch, `std-${arch}`, workspace);

      // The session runs in the image's userland, not the initramfs's busybox.
      expect(await ok(vm, 'cat /etc/debian_version; readlink -f /bin/sh')).toMatch(/^12\.\d+\n\/usr\/bin\/dash\n$/);
      expect(await ok(vm, 'cat /run/vivarium/root-error 2>/dev/null; echo end')).toBe('end\n');
      const versions: Record<string, RegExp> = {
        [`${bunNoJit(arch)}claude --version`]: /\(Claude Code\)/,
        'codex --version': /^codex-cli \d/m,
        'git --version': /^git version 2\./,
        'python3 --version': /^Python 3\.11\./,
      };
      for (const [cmd, want] of Object.entries(versions)) expect(await ok(vm, `${cmd} 2>&1`), cmd).toMatch(want);

      // /workspace is the 9p share, both ways.
      expect(await ok(vm, "awk '$2 == \"/workspace\" { print $1, $3 }' /proc/mounts")).toBe('workspace 9p\n');
      expect(await ok(vm, 'cat /workspace/from-host.txt; echo from-guest >/workspace/from-guest.txt')).toBe('written on the host\n');
      expect(readFileSync(join(workspace, 'from-guest.txt'), 'utf8')).toBe('from-guest\n');

      // / is the overlay; its lower layer is the disk, mounted read-only, and the kernel sees the
      // device itself as read-only (the host attached it so): even root cannot remount it writable.
      expect(await ok(vm, 'stat -f -c %T /')).toBe('overlayfs\n');
      expect(await ok(vm, "awk '$2 == \"/run/vivarium/lower\" { print $1, $3, $4 }' /proc/mounts")).toMatch(/^\/dev\/vda ext4 ro[,\n]/);
      expect(await ok(vm, 'cat /sys/block/vda/ro /sys/block/vda/serial; echo')).toBe('1\nstandard\n');
      const remount = await vm.run('mount -o remount,rw /run/vivarium/lower && touch /run/vivarium/lower/x');
      expect(remount.exitCode).not.toBe(0);
      expect((await vm.run('touch /run/vivarium/lower/x')).exitCode).not.toBe(0);

      // Writes to / land in the tmpfs upper layer.
      await ok(vm, 'echo probe >/etc/viv-probe && mkdir -p /opt/viv-dir && echo y >/opt/viv-dir/f');
      expect(await ok(vm, 'stat -f -c %T /run/vivarium/rw; cat /run/vivarium/rw/upper/etc/viv-probe /run/vivarium/rw/upper/opt/viv-dir/f'))
        .toBe('tmpfs\nprobe\ny\n');

      // `poweroff -f` over SSH (the host's graceful stop) powers the VM off: QEMU exits by itself.
      const booted = vm;
      booted.ssh.run('poweroff -f', { cwd: '/' }).catch(() => undefined);
      expect(await waitUntil(() => booted.events.some((e) => e.event === 'exit'), 120_000), 'QEMU still runs 120 s after poweroff -f').toBe(true);
      expect(booted.events.find((e) => e.event === 'exit')).toMatchObject({ reason: 'poweroff' });
      await vm.dispose();
      vm = null;

      // The disk file is untouched; the next boot starts from the image again.
      const after = statSync(img.rootfs);
      expect([after.size, after.mtimeMs]).toEqual([before.size, before.mtimeMs]);
      vm = await bootStandard(arch, `std2-${arch}`, workspace, { egress: true });
      expect(await ok(vm, 'ls /etc/viv-probe /opt/viv-dir 2>&1; stat -f -c %T /')).toMatch(/No such file[\s\S]*No such file[\s\S]*overlayfs\n$/);
      expect(await ok(vm, 'cat /workspace/from-guest.txt')).toBe('from-guest\n'); // the share, unlike /, persists

      // The egress relay (vivarium.egress=1) runs from the carried /run/vivarium/bin after the
      // switch: a guest connection to 127.0.0.1:3128 reaches the host's serve() over the data channel.
      const egressPath = vm.started.dataChannels.find((c) => c.name === 'egress')?.path;
      expect(egressPath, 'the helper did not open the egress data channel').toBeTruthy();
      const relay = await attachEgressRelay(egressPath!, { serve: answerHttp });
      try {
        expect(await ok(vm, 'curl -sS --max-time 120 http://127.0.0.1:3128/probe')).toBe('hello-relay');
      } finally {
        await relay.detach();
      }

      // The power button (helper stop without force) reaches acpid on the standard root too.
      const button = await vm.client.stop({ timeoutMs: 120_000 });
      expect(button.forced, 'the guest ignored the power button').toBe(false);
    }, 1_800_000);

    it.runIf(arch === 'x86_64')('with a state disk (vivarium.state=1) writes to / persist: a blank disk is formatted, one with foreign data is refused', async () => {
      const workspace = mkdtempSync(join(work, `ws-state-${arch}-`));
      const stateDisk = join(work, `state-${arch}.img`);
      writeFileSync(stateDisk, '');
      truncateSync(stateDisk, 256 << 20); // blank (sparse zeros), as the host creates it
      vm = await bootStandard(arch, `state-${arch}`, workspace, { stateDisk });
      expect(await ok(vm, "awk '$2 == \"/run/vivarium/rw\" { print $1, $3 }' /proc/mounts; stat -f -c %T /")).toBe('/dev/vdb ext4\noverlayfs\n');
      await ok(vm, 'echo kept >/etc/viv-state && sync');
      const first = vm;
      first.ssh.run('poweroff -f', { cwd: '/' }).catch(() => undefined);
      expect(await waitUntil(() => first.events.some((e) => e.event === 'exit'), 120_000)).toBe(true);
      await vm.dispose();
      vm = null;
      vm = await bootStandard(arch, `state2-${arch}`, workspace, { stateDisk });
      expect(await ok(vm, 'cat /etc/viv-state')).toBe('kept\n');
      await vm.dispose();
      vm = null;

      // Not blank and not ext4 (someone else's data): refused, untouched, and the VM stays on the tiny root.
      const foreign = join(work, `foreign-${arch}.img`);
      writeFileSync(foreign, Buffer.alloc(4 << 20, 0xa5));
      vm = await bootStandard(arch, `state3-${arch}`, workspace, { stateDisk: foreign });
      expect(await ok(vm, 'cat /run/vivarium/root-error')).toMatch(/state disk \/dev\/vdb holds no ext4 file system and is not blank/);
      expect(readFileSync(foreign).equals(Buffer.alloc(4 << 20, 0xa5))).toBe(true);
    }, 1_200_000);

    it.runIf(arch === 'x86_64')('without its disk the VM stays on the tiny root and says why over SSH', async () => {
      vm = await bootVm({ name: 'std-nodisk', arch, extraCmdline: [ROOT_PARAM], sshTimeoutMs: SSH_BUDGET_MS });
      expect(await ok(vm, 'cat /run/vivarium/root-error')).toMatch(/^no disk \/dev\/vda after 2 s/);
      expect(await ok(vm, 'stat -f -c %T /; test -x /bin/busybox && echo tiny')).toMatch(/^(tmpfs|ramfs)\ntiny\n$/);
    }, 600_000);
  });
}

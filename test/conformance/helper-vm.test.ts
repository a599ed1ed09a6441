import { statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bootVm, helperHello, processAlive, vmPrerequisites, waitUntil, type BootedVm } from '../support/helper-vm.js';

const pre = vmPrerequisites();
// The arm64 guest (qemu-system-aarch64 -M virt -cpu max) where QEMU for it and its image exist.
const guestDir = process.env.VIVARIUM_GUEST_DIR ?? join(import.meta.dirname, '../../dist/guest');
const arm64 = pre.ok && (await helperHello()).features.guestArchs.includes('arm64') && existsSync(join(guestDir, 'arm64/manifest.json'));

// Real VMs through the built qemu-helper: boot to SSH over the socket the helper reported,
// run commands, and end them every way the protocol offers.
describe('qemu-helper VM lifecycle', () => {
  let vm: BootedVm | null = null;
  afterEach(async () => {
    await vm?.dispose();
    vm = null;
  });

  it('has the helper and a guest image', () => {
    expect(pre.why).toBe('');
  });

  it.runIf(pre.ok)('boots to SSH over a 0600 channel socket, runs a command, stops gracefully', async () => {
    vm = await bootVm({ name: 'lifecycle' });
    const sock = statSync(vm.started.channel.path);
    expect(sock.isSocket()).toBe(true);
    expect(sock.mode & 0o777).toBe(0o600);
    expect(vm.events.map((e) => e.event)).toEqual(['state', 'channel', 'state']);
    const r = await vm.run('uname -m && cat /proc/cmdline');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^(x86_64|aarch64)\n/);
    expect(r.stdout).toContain('vivarium.channel=serial');
    const status = await vm.client.status();
    expect(status).toMatchObject({ state: 'running', accelerator: vm.started.accelerator, pid: vm.started.pid });
    const pid = vm.started.pid!;
    expect(processAlive(pid)).toBe(true);

    const stopped = await vm.client.stop({ force: false, timeoutMs: 30_000 });
    // The guest handles the ACPI power button, so no force is needed.
    expect(stopped).toEqual({ state: 'stopped', forced: false });
    expect(vm.events.slice(3).map((e) => (e.event === 'exit' ? `exit:${e.reason}` : e.event === 'state' ? e.state : e.event))).toEqual(['stopping', 'exit:stopped', 'stopped']);
    expect(processAlive(pid)).toBe(false);
    expect(existsSync(vm.started.channel.path)).toBe(false);
    expect(await vm.client.status()).toEqual({ state: 'stopped' });
  });

  it.runIf(pre.ok)('forces a VM off at once', async () => {
    vm = await bootVm({ name: 'forced' });
    const pid = vm.started.pid!;
    const t0 = Date.now();
    expect(await vm.client.stop({ force: true })).toEqual({ state: 'stopped', forced: true });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(vm.events.find((e) => e.event === 'exit')).toMatchObject({ reason: 'forced' });
    expect(processAlive(pid)).toBe(false);
    expect(existsSync(vm.started.channel.path)).toBe(false);
  });

  it.runIf(pre.ok)('reports a guest poweroff as exit reason "poweroff"', async () => {
    vm = await bootVm({ name: 'poweroff' });
    const pid = vm.started.pid!;
    // The SSH session dies with the guest; the command's own result does not matter.
    await vm.ssh.run('poweroff -f').catch(() => undefined);
    expect(await waitUntil(() => vm!.events.some((e) => e.event === 'state' && e.state === 'stopped'), 30_000)).toBe(true);
    expect(vm.events.find((e) => e.event === 'exit')).toMatchObject({ reason: 'poweroff' });
    expect(processAlive(pid)).toBe(false);
    expect(await vm.client.status()).toEqual({ state: 'stopped' });
  });

  it.runIf(pre.ok)('closing stdin stops the VM and ends the helper within 5 s', async () => {
    vm = await bootVm({ name: 'eof' });
    const qemu = vm.started.pid!;
    const helper = vm.client.pid!;
    const t0 = Date.now();
    const exit = await vm.client.close();
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(processAlive(qemu)).toBe(false);
    expect(processAlive(helper)).toBe(false);
    expect(existsSync(vm.started.channel.path)).toBe(false);
  });

  it.runIf(arm64)('boots an arm64 guest (virt machine) to SSH', async () => {
    // Emulated on an x86_64 host: several times slower than a native-arch boot.
    vm = await bootVm({ name: 'arm64', arch: 'arm64', sshTimeoutMs: 240_000 });
    const r = await vm.run('uname -m');
    expect(r).toMatchObject({ exitCode: 0, stdout: 'aarch64\n' });
    expect(vm.started.accelerator).toBe('tcg');
    expect(await vm.client.stop({ force: true })).toEqual({ state: 'stopped', forced: true });
  });
});

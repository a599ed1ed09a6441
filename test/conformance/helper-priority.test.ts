// The VM yields the CPU to the app's windows (qemu-helper qh_vm.c yield_cpu_to_the_app): QEMU
// runs in its own session, so in its own scheduler autogroup, niced to VIVARIUM_VM_NICE
// (default 10). bench/ui shows what it buys: the renderer's frames stay short while a TCG guest
// floods its output.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { bootVm, vmPrerequisites, type BootedVm } from '../support/helper-vm.js';

const pre = vmPrerequisites();

/** nice and session id of a process, from /proc/<pid>/stat (fields 19 and 6). */
function schedOf(pid: number): { nice: number; session: number; autogroupNice: number | null } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
  let autogroupNice: number | null = null;
  try {
    autogroupNice = Number(/nice (-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'))?.[1]);
  } catch {
    /* kernels without autogroups */
  }
  return { nice: Number(fields[16]), session: Number(fields[3]), autogroupNice };
}

describe.runIf(pre.ok)('qemu-helper CPU priority', () => {
  let vm: BootedVm | null = null;
  afterEach(async () => {
    await vm?.dispose();
    vm = null;
  });

  it('runs QEMU niced (default 10) in its own session, below the helper', async () => {
    vm = await bootVm({ name: 'priority' });
    const qemu = schedOf(vm.started.pid!);
    const helper = schedOf(vm.client.pid!);
    expect(qemu.nice).toBe(helper.nice + 10 > 19 ? 19 : helper.nice + 10);
    expect(qemu.session).toBe(vm.started.pid);
    expect(qemu.session).not.toBe(helper.session);
    if (qemu.autogroupNice !== null) expect(qemu.autogroupNice).toBe(10);
    expect((await vm.run('echo up')).stdout).toBe('up\n');
  });

  it('leaves QEMU at the helper priority with VIVARIUM_VM_NICE=0', async () => {
    vm = await bootVm({ name: 'priority0', env: { ...process.env, VIVARIUM_VM_NICE: '0' } });
    const qemu = schedOf(vm.started.pid!);
    const helper = schedOf(vm.client.pid!);
    expect(qemu.nice).toBe(helper.nice);
    expect(qemu.session).toBe(helper.session);
  });
});

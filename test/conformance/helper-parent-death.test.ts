import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { hostGuestArch, loadGuestImage } from '../../app/main/image/guest-image.js';
import { guestCmdline } from '../../app/main/image/vm-segment.js';
import { helperPath, processAlive, vmPrerequisites, waitUntil } from '../support/helper-vm.js';

// A stand-in for main: a process that spawns the helper, boots a VM, prints what it sees and
// is then killed with SIGKILL, so it can neither close stdin politely nor signal anyone.
const PARENT = `
const { spawn } = require('node:child_process');
const h = spawn(process.env.HELPER, [], { stdio: ['pipe', 'pipe', 'ignore'] });
console.log(JSON.stringify({ helperPid: h.pid }));
h.stdout.pipe(process.stdout);
h.stdin.write(JSON.stringify({ id: 1, method: 'hello', params: { protocol: 1 } }) + '\\n');
h.stdin.write(JSON.stringify({ id: 2, method: 'start', params: JSON.parse(process.env.SPEC) }) + '\\n');
setInterval(() => {}, 1000);
`;

/** Pids whose command line mentions `needle` (only our own VMs: the needle is a fresh temp dir). */
function pidsMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle)) out.push(Number(d));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

describe('qemu-helper dies with its parent', () => {
  const pre = vmPrerequisites();
  const runDir = mkdtempSync(join(tmpdir(), 'viv-orphan-'));
  afterAll(() => rmSync(runDir, { recursive: true, force: true }));

  it('has the helper and a guest image', () => {
    expect(pre.why).toBe('');
  });

  it.runIf(pre.ok)('kill -9 of the parent: the helper and QEMU are gone within 5 s', async () => {
    const arch = hostGuestArch();
    const img = await loadGuestImage(arch);
    const spec = {
      name: 'orphan',
      kernel: img.kernel,
      initrd: img.initrd,
      cmdline: guestCmdline({ shareKind: 'none', readOnly: false, channelKind: 'virtio-serial', arch }),
      cpus: 1,
      memoryMiB: 256,
      channelPath: join(runDir, 'ssh.sock'),
      consoleLog: join(runDir, 'console.log'),
    };
    const parent = spawn(process.execPath, ['-e', PARENT], {
      env: { ...process.env, HELPER: helperPath(), SPEC: JSON.stringify(spec) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let helperPid = 0;
    let qemuPid = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the VM did not start within 60 s')), 60_000);
      createInterface({ input: parent.stdout }).on('line', (line) => {
        const m = JSON.parse(line) as { helperPid?: number; id?: number; result?: { pid: number }; error?: unknown };
        if (m.helperPid) helperPid = m.helperPid;
        if (m.id === 2 && m.error) reject(new Error(`start failed: ${JSON.stringify(m.error)}`));
        if (m.id === 2 && m.result) {
          qemuPid = m.result.pid;
          clearTimeout(timer);
          resolve();
        }
      });
    });
    expect(processAlive(helperPid)).toBe(true);
    expect(processAlive(qemuPid)).toBe(true);
    expect(pidsMentioning(runDir)).toContain(qemuPid);

    parent.kill('SIGKILL');
    const t0 = Date.now();
    const gone = await waitUntil(() => !processAlive(qemuPid) && !processAlive(helperPid) && pidsMentioning(runDir).length === 0, 5000);
    console.log(JSON.stringify({ orphanCleanupMs: Date.now() - t0 }));
    expect(gone).toBe(true);
    expect(readdirSync(runDir)).toEqual(['console.log']); // the channel socket was removed
  });
});

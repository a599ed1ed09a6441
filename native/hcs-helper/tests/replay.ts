/**
 * Replays the golden transcripts (native/protocol/fixtures) against hcs-helper.exe.
 *
 *   Linux, under Wine (native/hcs-helper/test.sh does this):
 *     npx tsx native/hcs-helper/tests/replay.ts --exe dist/native/hcs-helper.exe --wine <wine>
 *     ... --wine <wine> --fake-hcs <call-log>   (Wine prefix holding tests/fake_computecore.c)
 *   On Windows (see README.md; --vm boots the real guest through HCS):
 *     npx tsx native/hcs-helper/tests/replay.ts --exe dist\native\hcs-helper.exe [--vm]
 *
 * Under Wine it adds the checks only a host without HCS can make: `hello` says HCS is unavailable
 * and why, `start` fails with hypervisorUnavailable, stdin EOF exits 0. With --fake-hcs (Wine
 * only; the prefix has the test stand-in computecore.dll) it also replays the VM transcripts, so
 * the helper's start/stop/EOF threads, HCS callbacks and pipes run for real, and checks the HCS
 * calls the helper made (the documents it passed) from the stand-in's call log.
 *
 * Adaptations, all forced by Windows and nothing else:
 * - under Wine, placeholders become Windows paths through Wine's Z: drive (Z:\tmp\...), because
 *   the helper checks paths with Windows rules (a "/tmp/x" path is not absolute there);
 * - `${CHANNEL}` and `${DATA_CHANNEL}` are pipe names \\.\pipe\..., which is what PROTOCOL.md §5.2
 *   asks of a Windows helper. Every other channel path is sent as written;
 * - `${DISK_FORMAT}` is `vhdx`, and `${DISK}` starts with the VHDX signature, which is all the
 *   helper checks itself (PROTOCOL.md §7). With --vm it must be a real VHDX: VIVARIUM_TEST_VHDX.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';

import type { Transcript } from '../../../app/main/vm/helper-transcript.js';
import {
  loadTranscripts,
  parseTranscript,
  replayTranscript,
  scratchPlaceholders,
  transcriptApplies,
  winePath,
} from '../../../test/support/transcript.js';

/** The channel of a Windows helper is a pipe name; the fixtures say `${CHANNEL}` for it. */
const UNIX_CHANNEL = '${CHANNEL}';

/** The checks only a helper without HCS can make, written in the transcript format. */
const UNAVAILABLE = parseTranscript(
  'hcs-unavailable',
  [
    { send: { id: 1, method: 'hello', params: { protocol: 1 } } },
    {
      expect: {
        id: 1,
        result: {
          helper: 'hcs-helper',
          hostArch: 'x86_64',
          available: false,
          unavailableReason: '*',
          features: {
            accelerators: [], guestArchs: ['x86_64'], shareKinds: ['hv9p'], channelKinds: ['hvsocket'],
            diskFormats: ['vhdx'], readOnlyDisks: true, dataChannels: 4,
          },
        },
      },
    },
    {
      send: {
        id: 2,
        method: 'start',
        params: {
          name: 'wine-check', kernel: '${KERNEL}', initrd: '${INITRD}', cmdline: 'quiet', cpus: 1, memoryMiB: 256,
          shares: [{ tag: 'workspace', hostPath: '${SHARE}', readOnly: true }],
          channelPath: UNIX_CHANNEL, consoleLog: '${CONSOLE}',
        },
      },
    },
    { expect: { id: 2, error: { code: 'hypervisorUnavailable', message: '*', cause: { hresult: '0x8007007E' } } } },
    // A disk that is not a VHDX is refused at validation, before the hypervisor is asked…
    {
      send: {
        id: 4, method: 'start',
        params: {
          name: 'wine-check', kernel: '${KERNEL}', initrd: '${INITRD}', cpus: 1, memoryMiB: 256, channelPath: UNIX_CHANNEL,
          consoleLog: '${CONSOLE}', disks: [{ id: 'root', hostPath: '${KERNEL}', readOnly: true, format: 'vhdx' }],
        },
      },
    },
    { expect: { id: 4, error: { code: 'invalidArgument', message: '*', cause: { path: '${KERNEL}' } } } },
    // …and a valid disk and data channel only for want of HCS.
    {
      send: {
        id: 5, method: 'start',
        params: {
          name: 'wine-check', kernel: '${KERNEL}', initrd: '${INITRD}', cpus: 1, memoryMiB: 256, channelPath: UNIX_CHANNEL,
          consoleLog: '${CONSOLE}', disks: [{ id: 'root', hostPath: '${DISK}', readOnly: true, format: 'vhdx' }],
          dataChannels: [{ name: 'egress', path: '${DATA_CHANNEL}', guestPort: 68664 }],
        },
      },
    },
    { expect: { id: 5, error: { code: 'hypervisorUnavailable', message: '*' } } },
    { send: { id: 3, method: 'status' } },
    { expect: { id: 3, result: { state: 'stopped' } } },
    { closeStdin: true },
    { expectExit: 0 },
  ]
    .map((o) => JSON.stringify(o))
    .join('\n'),
);

/** Extra assertions on the messages of hcs-unavailable: the reason is words a user can act on. */
function checkUnavailableWords(messages: unknown[]): string | null {
  const hello = messages[0] as { result?: { unavailableReason?: unknown } };
  const start = messages[1] as { error?: { message?: unknown } };
  const reason = String(hello.result?.unavailableReason ?? '');
  for (const words of ['computecore.dll', 'Virtual Machine Platform', 'Windows 10 version 1809'])
    if (!reason.includes(words)) return `unavailableReason lacks "${words}": ${reason}`;
  if (!String(start.error?.message ?? '').includes(reason))
    return `start's message does not carry hello's reason: ${String(start.error?.message)}`;
  const raw = messages[2] as { error?: { message?: unknown } };
  if (!String(raw.error?.message ?? '').startsWith('disks[0].hostPath') || !String(raw.error?.message).includes('not a VHDX'))
    return `a raw disk should be refused naming disks[0].hostPath and VHDX: ${String(raw.error?.message)}`;
  return null;
}

/** With the stand-in: a start that HCS refuses is mapped to the protocol error and cleaned up. */
const START_REFUSED = parseTranscript(
  'hcs-start-refused',
  [
    { send: { id: 1, method: 'hello', params: { protocol: 1 } } },
    { expect: { id: 1, result: { available: true, features: { accelerators: ['hyperv'] } } } },
    {
      send: {
        id: 2,
        method: 'start',
        params: {
          name: 'refused', kernel: '${KERNEL}', initrd: '${INITRD}', cpus: 1, memoryMiB: 256,
          channelPath: UNIX_CHANNEL, consoleLog: '${CONSOLE}',
        },
      },
    },
    { expect: { event: 'state', state: 'starting' } },
    { expect: { event: 'state', state: 'stopped' } }, // no exit event: the VM never ran
    {
      expect: {
        id: 2,
        error: {
          code: 'hypervisorUnavailable',
          message: '*',
          cause: { call: 'HcsStartComputeSystem', hresult: '0x8037011B', name: 'HCS_E_ACCESS_DENIED', hcsResult: '*' },
        },
      },
    },
    { send: { id: 3, method: 'status' } },
    { expect: { id: 3, result: { state: 'stopped' } } },
    { closeStdin: true },
    { expectExit: 0 },
  ]
    .map((o) => JSON.stringify(o))
    .join('\n'),
);

/**
 * With the stand-in taking 20 s to start: a stop that arrives while HcsStartComputeSystem is in
 * flight (seen in the call log) must cancel it and be answered at once, with the start failing
 * as "stopped while starting". Driven by hand because the stop must wait for that moment.
 */
async function checkStopWhileStarting(command: string[], env: NodeJS.ProcessEnv, vars: Record<string, string>, log: string): Promise<string | null> {
  const [cmd, ...args] = command as [string, ...string[]];
  const child = spawn(cmd, args, { env: { ...env, FAKE_HCS_START_DELAY_MS: '20000' }, stdio: ['pipe', 'pipe', 'ignore'] });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      lines.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      buf = buf.slice(nl + 1);
    }
  });
  const until = async (cond: () => boolean, ms: number): Promise<boolean> => {
    for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) if (cond()) return true;
    return cond();
  };
  const send = (o: unknown): boolean => child.stdin.write(JSON.stringify(o) + '\n');
  try {
    send({ id: 1, method: 'hello', params: { protocol: 1 } });
    send({
      id: 2, method: 'start',
      params: { name: 'slow', kernel: vars.KERNEL, initrd: vars.INITRD, cpus: 1, memoryMiB: 256, channelPath: vars.PIPE, consoleLog: vars.CONSOLE },
    });
    const started = (): boolean => existsSync(log) && readFileSync(log, 'utf8').includes('HcsStartComputeSystem');
    if (!(await until(started, 30_000))) return 'HcsStartComputeSystem was never called';
    const t0 = Date.now();
    send({ id: 3, method: 'stop' });
    if (!(await until(() => lines.some((l) => l.id === 3), 15_000))) return 'no reply to the stop within 15 s';
    const ms = Date.now() - t0;
    if (ms > 5_000) return `the stop took ${ms} ms: it waited for the slow start instead of cancelling it`;
    const startReply = lines.find((l) => l.id === 2) as { error?: { code?: string } } | undefined;
    if (startReply?.error?.code !== 'invalidState') return `start should fail with invalidState, got ${JSON.stringify(startReply)}`;
    const stopReply = lines.find((l) => l.id === 3) as { result?: { state?: string } } | undefined;
    if (stopReply?.result?.state !== 'stopped') return `stop should answer stopped, got ${JSON.stringify(stopReply)}`;
    if (!readFileSync(log, 'utf8').includes('HcsCancelOperation')) return 'the start operation was not cancelled';
    child.stdin.end();
    if (!(await until(() => child.exitCode !== null, 5_000))) return 'the helper did not exit within 5 s of stdin EOF';
    return child.exitCode === 0 ? null : `exit status ${child.exitCode}`;
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

/** What the stand-in's call log must show after one start-stop replay. */
function checkCallLog(log: string, vars: Record<string, string>, consoleLog: string): string | null {
  const lines = log.split('\n').filter(Boolean);
  const call = (name: string): string[] => lines.filter((l) => l.startsWith(name + ' ')).map((l) => l.slice(name.length + 1));
  const create = call('HcsCreateComputeSystem')[0];
  if (!create) return 'HcsCreateComputeSystem was not called';
  const doc = JSON.parse(create) as {
    VirtualMachine: { Chipset: { LinuxKernelDirect: Record<string, string> }; Devices: Record<string, unknown> };
  };
  const lkd = doc.VirtualMachine.Chipset.LinuxKernelDirect;
  if (lkd.KernelFilePath !== vars.KERNEL || lkd.InitRdPath !== vars.INITRD)
    return `LinuxKernelDirect names ${lkd.KernelFilePath} / ${lkd.InitRdPath}, expected the spec's files`;
  if (!String(lkd.KernelCmdLine).includes('vivarium.vsock_transport=hv')) return `KernelCmdLine lacks the HCS parameters: ${lkd.KernelCmdLine}`;
  if ('NetworkAdapters' in doc.VirtualMachine.Devices) return 'the document has a network adapter';
  const shares = [...call('HcsModifyComputeSystem'), ...call('HcsModifyComputeSystem+identity')].map(
    (d) => JSON.parse(d) as { Settings: { Path: string; Flags: number } },
  );
  if (shares.length !== 1 || shares[0]?.Settings.Path !== vars.SHARE || ((shares[0]?.Settings.Flags ?? 0) & 1) !== 1)
    return `expected one read-only Plan 9 share of ${vars.SHARE}, got ${JSON.stringify(shares)}`;
  const grants = call('HcsGrantVmAccess');
  if (!grants.includes(vars.KERNEL as string) || !grants.includes(vars.INITRD as string))
    return `HcsGrantVmAccess was not called for the kernel and initrd: ${JSON.stringify(grants)}`;
  if (call('HcsShutDownComputeSystem').length !== 1) return 'a graceful stop did not call HcsShutDownComputeSystem';
  if (call('HcsCloseComputeSystem').length !== 1) return 'the compute system was not closed';
  // The stand-in wrote one line to COM1 as a guest kernel would; the helper copies it to consoleLog.
  const console = existsSync(consoleLog) ? readFileSync(consoleLog, 'utf8') : '';
  if (!console.includes('FAKE_CONSOLE_LINE: Linux version')) return `consoleLog does not hold COM1's output: ${JSON.stringify(console)}`;
  return null;
}

/**
 * What the stand-in's call log must show after the start-disk-data-channel replay (two boots):
 * the disk as a read-only VirtualDisk on SCSI controller "0", the data channel's port connectable
 * like the SSH port, the VM granted access to the disk before the create, every grant revoked,
 * and both channel pipes present while the VM ran.
 */
function checkDeviceLog(log: string, vars: Record<string, string>): string | null {
  const lines = log.split('\n').filter(Boolean);
  const index = (prefix: string): number => lines.findIndex((l) => l.startsWith(prefix));
  const args = (name: string): string[] => lines.filter((l) => l.startsWith(name + ' ')).map((l) => l.slice(name.length + 1));
  const create = args('HcsCreateComputeSystem')[0];
  if (!create) return 'HcsCreateComputeSystem was not called';
  type Doc = { VirtualMachine: { Devices: { Scsi?: Record<string, { Attachments: Record<string, unknown> }>; HvSocket: { HvSocketConfig: { ServiceTable: Record<string, { ConnectSecurityDescriptor: string }> } } } } };
  const devices = (JSON.parse(create) as Doc).VirtualMachine.Devices;
  const attachments = devices.Scsi?.['0']?.Attachments;
  const want = { Type: 'VirtualDisk', Path: vars.DISK, ReadOnly: true };
  if (JSON.stringify(attachments) !== JSON.stringify({ '0': want }))
    return `Scsi."0".Attachments should be ${JSON.stringify({ '0': want })}, got ${JSON.stringify(devices.Scsi)}`;
  const table = devices.HvSocket.HvSocketConfig.ServiceTable;
  const ssh = table['00000016-facb-11e6-bd58-64006a7986d3'];
  const data = table[(68664).toString(16).padStart(8, '0') + '-facb-11e6-bd58-64006a7986d3'];
  if (!ssh || !data || data.ConnectSecurityDescriptor !== ssh.ConnectSecurityDescriptor || Object.keys(table).length !== 2)
    return `ServiceTable should hold the SSH port and data port 68664 with one ACL: ${JSON.stringify(table)}`;
  const grantDisk = lines.findIndex((l) => l === `HcsGrantVmAccess ${vars.DISK}`);
  if (grantDisk < 0 || grantDisk > index('HcsCreateComputeSystem '))
    return 'the VM was not granted access to the disk before HcsCreateComputeSystem';
  const grants = args('HcsGrantVmAccess').sort(), revokes = args('HcsRevokeVmAccess').sort();
  if (JSON.stringify(grants) !== JSON.stringify(revokes))
    return `every grant must be revoked: granted ${JSON.stringify(grants)}, revoked ${JSON.stringify(revokes)}`;
  // The stand-in probes the pipes when asked to terminate, i.e. before the first boot is closed.
  const firstClose = index('HcsCloseComputeSystem');
  for (const pipe of [vars.CHANNEL, vars.DATA_CHANNEL])
    if (!lines.slice(0, firstClose).includes(`PipeProbe present ${pipe}`))
      return `the pipe ${pipe} did not exist while the VM ran: ${JSON.stringify(lines.filter((l) => l.startsWith('PipeProbe')))}`;
  return null;
}

/** Overwrites the start of `path` with the VHDX file signature (MS-VHDX 2.2.1: "vhdxfile"). */
function markVhdx(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.from('vhdxfile', 'ascii'), 0, 8, 0);
  } finally {
    closeSync(fd);
  }
}

/** The real guest for --vm, with the kernel command line an HCS VM needs (hv9p + vsock). */
async function realGuest(): Promise<{ kernel: string; initrd: string; cmdline: string; arch: string }> {
  const { loadGuestImage } = await import('../../../app/main/image/guest-image.js');
  const { guestCmdline } = await import('../../../app/main/image/vm-segment.js');
  const img = await loadGuestImage('x86_64');
  const cmdline = guestCmdline({ shareKind: 'hv9p', readOnly: true, channelKind: 'vsock', arch: 'x86_64' });
  return { kernel: img.kernel, initrd: img.initrd, cmdline, arch: 'x86_64' };
}

async function main(argv: string[]): Promise<number> {
  const opt = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const exe = opt('--exe');
  const wine = opt('--wine');
  const fakeLog = opt('--fake-hcs');
  const vm = argv.includes('--vm');
  if (!exe || (wine && vm) || (fakeLog && !wine)) {
    console.error('usage: replay.ts --exe <hcs-helper.exe> [--wine <wine> [--fake-hcs <call-log>] | --vm]');
    return 2;
  }
  const command = wine ? [wine, exe] : [exe];
  const real = vm ? await realGuest() : undefined;
  const transcripts: Transcript[] = loadTranscripts().filter((t) => transcriptApplies(t, { vm: vm || fakeLog !== undefined, style: 'wine' }));
  if (wine) transcripts.push(fakeLog ? START_REFUSED : UNAVAILABLE);
  let failed = 0;
  for (const t of transcripts) {
    const { vars, cleanup } = scratchPlaceholders(real);
    const pipe = `\\\\.\\pipe\\viv-tr-${process.pid}-${randomBytes(4).toString('hex')}`;
    if (vm && JSON.stringify(t).includes('${DISK}')) {
      // A real HCS boot attaches ${DISK}: it must be a real VHDX (see README, checklist step 4).
      const vhdx = process.env.VIVARIUM_TEST_VHDX;
      if (!vhdx || !existsSync(vhdx)) {
        failed++;
        console.log(`FAIL  ${t.name}: set VIVARIUM_TEST_VHDX to an existing .vhdx file (this transcript attaches a disk)`);
        cleanup();
        continue;
      }
      vars.DISK = vhdx;
    } else {
      markVhdx(vars.DISK as string);
    }
    const placeholders: Record<string, string> = { ...vars, CHANNEL: pipe, DATA_CHANNEL: `${pipe}-data`, DISK_FORMAT: 'vhdx' };
    if (wine)
      for (const k of ['KERNEL', 'INITRD', 'SHARE', 'RUNDIR', 'CONSOLE', 'DISK'])
        placeholders[k] = winePath(vars[k] as string);
    const t0 = Date.now();
    let log = '';
    if (fakeLog) rmSync(fakeLog, { force: true });
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (fakeLog) env.FAKE_HCS_LOG = winePath(fakeLog);
    if (fakeLog) env.FAKE_HCS_PROBE_PIPES = `${placeholders.CHANNEL};${placeholders.DATA_CHANNEL}`;
    if (t === START_REFUSED) env.FAKE_HCS_START_HRESULT = '0x8037011B';
    try {
      const { messages } = await replayTranscript(t, {
        command,
        env,
        placeholders,
        messageTimeoutMs: vm ? 120_000 : 30_000, // a cold Wine start can take seconds on a busy 2-core box
        onStderr: (s) => (log = (log + s).slice(-4000)),
      });
      let extra = t === UNAVAILABLE ? checkUnavailableWords(messages) : null;
      if (fakeLog && t.name === 'start-stop')
        extra = checkCallLog(readFileSync(fakeLog, 'utf8'), placeholders, vars.CONSOLE as string);
      if (fakeLog && t.name === 'start-disk-data-channel') extra = checkDeviceLog(readFileSync(fakeLog, 'utf8'), placeholders);
      if (extra) throw new Error(extra);
      console.log(`ok    ${t.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL  ${t.name}: ${(e as Error).message}\n  helper stderr (tail):\n${log.replace(/^/gm, '    ')}`);
    } finally {
      cleanup();
    }
  }
  let ran = transcripts.length;
  if (fakeLog) {
    ran++;
    const { vars, cleanup } = scratchPlaceholders();
    const placeholders: Record<string, string> = { PIPE: `\\\\.\\pipe\\viv-tr-${process.pid}-slow` };
    for (const k of ['KERNEL', 'INITRD', 'CONSOLE']) placeholders[k] = winePath(vars[k] as string);
    rmSync(fakeLog, { force: true });
    const t0 = Date.now();
    const why = await checkStopWhileStarting(command, { ...process.env, FAKE_HCS_LOG: winePath(fakeLog) }, placeholders, fakeLog);
    cleanup();
    if (why) failed++;
    console.log(why ? `FAIL  hcs-stop-while-starting: ${why}` : `ok    hcs-stop-while-starting (${Date.now() - t0} ms)`);
  }
  console.log(`hcs-helper${wine ? ' under Wine' : ''}${fakeLog ? ' with the stand-in HCS' : ''}: ${ran - failed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);

/**
 * Egress benchmark (issue 7): throughput of a 100 MB download from a local HTTP server into a
 * guest through the egress relay (vrelay over the `egress` data channel), through the SSH remote
 * forward, and through QEMU's user-mode network (slirp), side by side in one run, alternating
 * legs so machine load hits all alike. Host-only legs (direct, the proxy on a TCP port) are the
 * ceiling. Prints JSON; never gates on time.
 *
 *   npx tsx bench/egress/egress-bench.ts [runs=3] [megabytes=100]
 *
 * Guest legs need a built guest image (bash guest-image/build.sh). One VM carries both egress
 * paths (relay on guest 127.0.0.1:3128, SSH forward on 3129; same guest, same proxy), and a second
 * one has a slirp NIC (slirp-guest.ts). Each path is timed twice: busybox wget writing to
 * /dev/null (the transport's figure) and piped into `wc -c` (what the earlier figures used; the
 * guest pipe costs as much as the transport under TCG). Set VIVARIUM_BENCH_NO_VM=1 to skip VMs.
 */
import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { EgressProxy } from '../../app/main/egress/egress-proxy.js';
import { exchange, MemoryAudit, startOrigin } from '../../app/main/egress/egress-test-kit.js';
import { attachEgressRelay } from '../../app/main/egress/relay-egress.js';
import { attachEgressForward } from '../../app/main/egress/ssh-forward.js';
import { loadGuestImage, hostGuestArch } from '../../app/main/image/guest-image.js';
import { repoRoot } from '../../app/main/paths.js';
import { bootRelayVm, type RelayVm } from '../../test/conformance/egress-relay-vm.js';
import { bootSlirpGuest, type SlirpGuest } from './slirp-guest.js';

/** Reads one HTTP response off a connected socket, counting body bytes; resolves with the count. */
function drainResponse(socket: Socket, request: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let head = '';
    let body = 0;
    let expected = -1;
    socket.on('data', (c: Buffer) => {
      if (expected < 0) {
        head += c.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const m = /content-length:\s*(\d+)/i.exec(head.slice(0, end));
        if (!/^HTTP\/1\.1 200/.test(head) || !m) return reject(new Error(`unexpected answer: ${head.slice(0, 200)}`));
        expected = Number(m[1]);
        body = head.length - end - 4;
      } else {
        body += c.length;
      }
      if (body >= expected) {
        socket.destroy();
        resolve(body);
      }
    });
    socket.on('error', reject);
    socket.write(request);
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc; 0 when it is gone. */
function cpuSecondsOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

/**
 * Wall time and CPU time of one leg: this process (proxy, relay host end, ssh2, origin) plus the
 * QEMU process of the leg's VM (guest, virtio-serial, slirp). CPU time is the figure machine load
 * disturbs least: wall time on a shared 2-core machine mostly measures the neighbours.
 */
async function timed(run: () => Promise<number>, qemuPid?: number): Promise<{ seconds: number; bytes: number; cpuSeconds: number }> {
  const q0 = cpuSecondsOf(qemuPid);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const bytes = await run();
  const c = process.cpuUsage(c0);
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, bytes, cpuSeconds: (c.user + c.system) / 1e6 + cpuSecondsOf(qemuPid) - q0 };
}

type Run = (cmd: string) => Promise<{ stdout: string }>;

/** Two guest legs for one path: wget to /dev/null (exit 0 = all bytes), and wget | wc -c. */
function guestLegs(run: Run, proxyEnv: string, url: string, size: number): { devnull: () => Promise<number>; wc: () => Promise<number> } {
  return {
    devnull: async () => {
      const r = await run(`${proxyEnv} wget -q -O /dev/null ${url} && echo ok`);
      return r.stdout.trim() === 'ok' ? size : 0;
    },
    wc: async () => Number((await run(`${proxyEnv} wget -q -O- ${url} | wc -c`)).stdout.trim()),
  };
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 3);
  const size = Number(process.argv[3] ?? 100) * 1024 * 1024;
  const origin = await startOrigin();
  const target = `127.0.0.1:${origin.port}`;
  const audit = new MemoryAudit();
  const proxy = new EgressProxy({ workspaceId: 'bench', audit, policy: { mode: 'allowlist', hosts: [target] } });
  const proxyServer = await proxy.listen();
  const proxyPort = (proxyServer.address() as AddressInfo).port;
  const path = `/bytes/${size}`;
  const url = `http://${target}${path}`;

  /** The QEMU process behind each guest leg. */
  const pidOf: Record<string, number | undefined> = {};
  const legs: Record<string, () => Promise<number>> = {
    direct: () =>
      new Promise<number>((resolve, reject) => {
        httpGet({ host: '127.0.0.1', port: origin.port, path, agent: false }, (res) => {
          let n = 0;
          res.on('data', (c: Buffer) => (n += c.length));
          res.on('end', () => resolve(n));
        }).on('error', reject);
      }),
    proxyConnect: async () => {
      const s = netConnect(proxyPort, '127.0.0.1');
      await exchange(s, `CONNECT ${target} HTTP/1.1\r\n\r\n`, (t) => t.includes('\r\n\r\n'));
      return drainResponse(s, `GET ${path} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    },
  };
  let vm: RelayVm | null = null;
  let slirp: SlirpGuest | null = null;
  let skipped: string | null = null;
  const detach: (() => Promise<void>)[] = [];
  if (process.env.VIVARIUM_BENCH_NO_VM === '1') {
    skipped = 'VIVARIUM_BENCH_NO_VM=1';
  } else {
    vm = await bootRelayVm();
    const relay = await attachEgressRelay(vm.egressSocket, proxy);
    const forward = await attachEgressForward(vm.ssh.sshClient, proxy, { port: 3129 });
    detach.push(() => relay.detach(), () => forward.detach());
    const booted = await bootSlirpGuest(await loadGuestImage(hostGuestArch()), repoRoot());
    if ('skipped' in booted) skipped = `slirp: ${booted.skipped}`;
    else slirp = booted;
    const r = guestLegs(vm.run, 'http_proxy=http://127.0.0.1:3128', url, size);
    const f = guestLegs(vm.run, 'http_proxy=http://127.0.0.1:3129', url, size);
    legs.relay = r.devnull;
    legs.sshForward = f.devnull;
    if (slirp) legs.slirp = guestLegs(slirp.run, '', `http://${slirp.hostAddress}:${origin.port}${path}`, size).devnull;
    legs.relayWc = r.wc;
    legs.sshForwardWc = f.wc;
    if (slirp) legs.slirpWc = guestLegs(slirp.run, '', `http://${slirp.hostAddress}:${origin.port}${path}`, size).wc;
    for (const k of ['relay', 'sshForward', 'relayWc', 'sshForwardWc']) pidOf[k] = vm.vm.proc.pid;
    for (const k of ['slirp', 'slirpWc']) pidOf[k] = slirp?.pid;
  }
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(legs).map((k) => [k, []]));
  const cpu: Record<string, number[]> = Object.fromEntries(Object.keys(legs).map((k) => [k, []]));
  const loads: number[] = [];
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  for (let i = 0; i < runs; i++) {
    for (const [name, run] of Object.entries(legs)) {
      loads.push(loadavg()[0]!);
      const r = await timed(run, pidOf[name]);
      if (r.bytes !== size) throw new Error(`${name}: got ${r.bytes} bytes, wanted ${size}`);
      samples[name]!.push(+(r.bytes / 1024 / 1024 / r.seconds).toFixed(1));
      cpu[name]!.push(+((r.cpuSeconds * 100 * 1024 * 1024) / r.bytes).toFixed(2));
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const m = (k: string): number | null => (samples[k]?.length ? median(samples[k]) : null);
  const ratio = (a: string, b: string): number | null => (m(a) !== null && m(b) ? +(m(a)! / m(b)!).toFixed(2) : null);
  const c = (k: string): number | null => (cpu[k]?.length ? median(cpu[k]) : null);
  console.log(
    JSON.stringify(
      {
        bench: 'egress',
        metric: `throughput of a ${size / 1024 / 1024} MiB HTTP download from a server on 127.0.0.1 (MiB/s, median of ${runs})`,
        machine: { cpus: cpus().length, loadAverage1m: { min: Math.min(...loads), max: Math.max(...loads) } },
        guestMiBps: { relay: m('relay'), sshForward: m('sshForward'), slirp: m('slirp') },
        guestPipedToWcMiBps: { relay: m('relayWc'), sshForward: m('sshForwardWc'), slirp: m('slirpWc') },
        relayVsSlirp: ratio('relay', 'slirp'),
        cpuSecondsPer100MiB: {
          note: 'QEMU of the leg\'s VM + this process (proxy, relay host end, ssh2, origin); median; lower is better',
          relay: c('relay'), sshForward: c('sshForward'), slirp: c('slirp'),
          relayWc: c('relayWc'), sshForwardWc: c('sshForwardWc'), slirpWc: c('slirpWc'),
        },
        relayVsSshForward: ratio('relay', 'sshForward'),
        hostMiBps: { direct: m('direct'), proxyConnect: m('proxyConnect') },
        samplesMiBps: samples,
        proxyRecords: audit.records.length,
        rssGrowthMiB: +((rssPeak - rssBefore) / 1024 / 1024).toFixed(1),
        how: vm
          ? 'guest under TCG, busybox wget with http_proxy (relay: guest 127.0.0.1:3128 -> vrelay -> virtio-serial port vivarium.egress -> RelayChannel -> proxy; sshForward: guest 127.0.0.1:3129 -> dropbear -> virtio-serial vivarium.ssh -> ssh2 -> proxy); slirp: a second guest with -netdev user + virtio-net-pci fetching http://10.0.2.2:<port>'
          : null,
        skipped,
      },
      null,
      2,
    ),
  );
  for (const d of detach) await d();
  await slirp?.dispose();
  await vm?.dispose();
  await proxy.close();
  proxyServer.close();
  await origin.close();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

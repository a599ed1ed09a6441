// The egress relay on a real VM (issue 7's fast path): guest 127.0.0.1:3128 is vrelay, carried
// over the `vivarium.egress` virtio-serial port to RelayChannel and the same EgressProxy as the
// SSH forward. Many concurrent connections, a 100 MB download, a host reconnect and a vrelay
// restart. Servers listen on the host's 127.0.0.1 only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EgressRecord } from '../../app/main/egress/egress-audit.js';
import { EgressProxy } from '../../app/main/egress/egress-proxy.js';
import { MemoryAudit, startOrigin, until, type Origin } from '../../app/main/egress/egress-test-kit.js';
import { attachEgressRelay, type EgressRelay } from '../../app/main/egress/relay-egress.js';
import { bootRelayVm, type RelayVm } from './egress-relay-vm.js';
import { vmPrerequisites } from '../support/helper-vm.js';

const pre = vmPrerequisites();
let vm: RelayVm;
let origin: Origin;
let proxy: EgressProxy;
let relay: EgressRelay;
const records: EgressRecord[] = [];

beforeAll(async () => {
  if (!pre.ok) return;
  origin = await startOrigin();
  proxy = new EgressProxy({ workspaceId: 'ws-relay', audit: new MemoryAudit(), policy: { mode: 'allowlist', hosts: [`127.0.0.1:${origin.port}`] } });
  proxy.on('record', (r) => records.push(r));
  vm = await bootRelayVm();
  relay = await attachEgressRelay(vm.egressSocket, proxy, { reconnectDelayMs: 200 });
});
afterAll(async () => {
  await relay?.detach();
  await proxy?.close();
  await vm?.dispose();
  await origin?.close();
});

const proxied = (cmd: string): string => `export http_proxy=http://127.0.0.1:3128; ${cmd}`;

describe('egress relay on a real VM', () => {
  it('has a guest image', () => {
    expect(pre.why).toBe('');
  });

  it.runIf(pre.ok)('listens on guest 127.0.0.1:3128 through vrelay, not dropbear', async () => {
    expect(relay.port).toBe(3128);
    const r = await vm.run('ps -o pid,args | grep "[v]relay"; cat /proc/net/tcp | grep -c " 0100007F:0C38 00000000:0000 0A"');
    // vsh serial-exec opened the port and exec'd vrelay; one listener on 127.0.0.1:3128 (0x0C38).
    expect(r.stdout).toMatch(/^\s*\d+ \/bin\/vrelay\n/);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('1');
  });

  it.runIf(pre.ok)('serves 120 concurrent connections, each logged', async () => {
    const before = records.length;
    const r = await vm.run(proxied(
      `cd /tmp && i=0; while [ $i -lt 120 ]; do wget -q -O out.$i http://127.0.0.1:${origin.port}/bytes/20000 & i=$((i+1)); done; wait; ` +
        `cat out.* | wc -c; rm -f out.*`,
    ));
    expect(r.stdout.trim()).toBe(String(120 * 20000));
    await until(() => records.length >= before + 120, 30_000);
    expect(records.slice(before).every((x) => x.decision === 'allowed' && x.status === 200)).toBe(true);
    // 120 were open at once at some point: the guest's cap is 256.
    expect(relay.channel.opened).toBeGreaterThanOrEqual(120);
  });

  it.runIf(pre.ok)('downloads 100 MB intact (checksum against the host\'s)', async () => {
    const size = 100 * 1024 * 1024;
    const r = await vm.run(proxied(`wget -q -O- http://127.0.0.1:${origin.port}/bytes/${size} | md5sum`));
    // The origin sends 'a' * size.
    const { createHash } = await import('node:crypto');
    const h = createHash('md5');
    const block = Buffer.alloc(64 * 1024, 0x61);
    for (let left = size; left > 0; left -= block.length) h.update(left >= block.length ? block : block.subarray(0, left));
    expect(r.stdout.split(' ')[0]).toBe(h.digest('hex'));
  });

  it.runIf(pre.ok)('a host reconnect resets streams in flight, and the next session serves again', async () => {
    // A download in flight in the background, then the host drops the session and opens a new one.
    const bg = vm.run(proxied(`wget -q -O /dev/null http://127.0.0.1:${origin.port}/bytes/${1024 * 1024 * 1024}; echo "rc=$?"`));
    await until(() => relay.channel.streamCount === 1, 60_000);
    const first = relay.sessions;
    relay.channel.close(); // as if the host side went away mid-stream: the relay reconnects by itself
    expect((await bg).stdout).toMatch(/rc=1/);
    await until(() => relay.sessions === first + 1, 60_000);
    const again = await vm.run(proxied(`wget -q -O- http://127.0.0.1:${origin.port}/hello`));
    expect(again.stdout).toBe('hello');
  });

  it.runIf(pre.ok)('a restarted vrelay says GOAWAY and the host opens a new session by itself', async () => {
    const first = relay.sessions;
    await vm.run('kill $(pidof vrelay)');
    await until(() => relay.sessions === first + 1, 60_000);
    const r = await vm.run(proxied(`wget -q -O- http://127.0.0.1:${origin.port}/hello`));
    expect(r.stdout).toBe('hello');
  });
});

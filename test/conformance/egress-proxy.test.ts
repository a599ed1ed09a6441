// Network egress against a real VM (issue 7): the guest has only loopback; its one way out is
// guest 127.0.0.1:3128, carried to the host's egress proxy, which decides and logs every request.
// The suite runs once per way of carrying it: the egress relay (vrelay over the VM's `egress`
// data channel) and the SSH remote forward. Servers run on the host's 127.0.0.1 only.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EGRESS_LOG_FILE, readEgressLog, type EgressRecord } from '../../app/main/egress/egress-audit.js';
import type { EgressProxy } from '../../app/main/egress/egress-proxy.js';
import { EgressSession, type EgressTransport } from '../../app/main/egress/egress-session.js';
import { startOrigin, until, type Origin } from '../../app/main/egress/egress-test-kit.js';
import { proxyEnvironment } from '../../app/main/egress/task-credentials.js';
import { bootVm, vmPrerequisites } from '../support/helper-vm.js';
import { bootRelayVm } from './egress-relay-vm.js';

const pre = vmPrerequisites();

describe.each(['relay', 'ssh-forward'] as EgressTransport[])('egress from a real guest (%s)', (transport) => {
  let vm: { run(cmd: string): Promise<{ stdout: string }>; dispose(): Promise<void> };
  let origin: Origin;
  let dataDir: string;
  let session: EgressSession;
  let proxy: EgressProxy;
  let proxyEnv: string;
  const records: EgressRecord[] = [];
  const TASK = 'task-egress';

  beforeAll(async () => {
    if (!pre.ok) return;
    dataDir = await mkdtemp(join(tmpdir(), 'viv-egress-data-'));
    origin = await startOrigin();
    // The core passes the VM's ssh2 client and, when it has one, its egress channel
    // (core/workspace-egress.ts); this suite does the same on its own booted VM.
    const booted = transport === 'relay' ? await bootRelayVm() : await bootVm({ name: 'egress' });
    vm = booted;
    session = await EgressSession.start({
      workspaceId: 'ws-egress',
      policy: { mode: 'off' },
      tasksDir: join(dataDir, 'tasks'),
      vmDir: join(dataDir, 'vms', 'ws-egress'),
      client: booted.ssh.sshClient,
      relayPath: 'egressSocket' in booted ? booted.egressSocket : null,
    });
    expect(session.transport).toBe(transport);
    proxy = session.proxy;
    proxy.on('record', (r) => records.push(r));
    // The environment a task gets when its workspace has network (busybox wget reads http_proxy
    // and sends its credentials as Proxy-Authorization, so requests are logged under the task).
    proxyEnv = Object.entries(proxyEnvironment({ taskId: TASK, token: proxy.issueTaskToken(TASK) }))
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
  });
  afterAll(async () => {
    await session?.close();
    await vm?.dispose();
    await origin?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** Runs a guest command with the proxy environment a task gets. */
  const inGuest = (cmd: string) => vm.run(`export ${proxyEnv}; ${cmd}`);

  describe('through the proxy', () => {
    it('has the helper and a guest image', () => {
      expect(pre.why).toBe('');
    });

    it.runIf(pre.ok)('gives the guest only loopback, no route out and no DNS resolver', async () => {
      const links = await vm.run('ip -o link');
      expect(links.stdout.trim().split('\n').map((l) => l.split(':')[1]!.trim())).toEqual(['lo']);
      // 10.0.2.2 is where slirp would put the host; 1.1.1.1 stands for the internet.
      for (const dest of ['10.0.2.2 80', '1.1.1.1 443', '192.168.1.1 22']) {
        const r = await vm.run(`nc ${dest} </dev/null 2>&1; echo "rc=$?"`);
        expect(r.stdout).toMatch(/Network is unreachable[\s\S]*rc=1/);
      }
      const dns = await vm.run('cat /etc/resolv.conf 2>&1; nslookup example.com 2>&1; echo "rc=$?"');
      expect(dns.stdout).toContain("can't open '/etc/resolv.conf'");
      expect(dns.stdout).toMatch(/no servers could be reached[\s\S]*rc=1/);
    });

    it.runIf(pre.ok)('refuses and logs a proxied request while the workspace network is off', async () => {
      const before = records.length;
      const r = await inGuest(`wget -q -O- http://127.0.0.1:${origin.port}/hello 2>&1; echo "rc=$?"`);
      expect(r.stdout).toMatch(/403/);
      expect(r.stdout).not.toContain('hello\n');
      await until(() => records.length === before + 1);
      expect(records.at(-1)).toMatchObject({ taskId: TASK, host: '127.0.0.1', port: origin.port, decision: 'blocked-by-policy', reason: 'network access is off for this workspace' });
    });

    it.runIf(pre.ok)('with 127.0.0.1:<port> allowed, plain HTTP and a CONNECT tunnel succeed, bytes counted both sides', async () => {
      proxy.setPolicy({ mode: 'allowlist', hosts: [`127.0.0.1:${origin.port}`] });
      const before = records.length;
      const r = await inGuest(`wget -q -O- http://127.0.0.1:${origin.port}/bytes/200000 | wc -c`);
      expect(r.stdout.trim()).toBe('200000');
      const tunnel = await vm.run(
        `printf 'CONNECT 127.0.0.1:${origin.port} HTTP/1.1\\r\\n\\r\\nGET /hello HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | nc 127.0.0.1 3128`,
      );
      expect(tunnel.stdout).toMatch(/^HTTP\/1.1 200 Connection Established\r\n\r\nHTTP\/1.1 200 OK[\s\S]*hello$/);
      await until(() => records.length === before + 2, 20_000);
      const [http, connect] = records.slice(before);
      expect(http).toMatchObject({ taskId: TASK, kind: 'http', method: 'GET', decision: 'allowed', status: 200, address: '127.0.0.1' });
      expect(http!.bytesDown).toBeGreaterThan(200000);
      expect(http!.bytesUp).toBeGreaterThan(0);
      expect(connect).toMatchObject({ taskId: null, kind: 'connect', decision: 'allowed', status: 200 });
      expect(connect!.bytesUp).toBeGreaterThan(0);
      expect(connect!.bytesDown).toBeGreaterThan('hello'.length);
    });

    it.runIf(pre.ok)('refuses a name that resolves to 127.0.0.1 but is not allowed as such (SSRF guard)', async () => {
      proxy.setPolicy({ mode: 'allowlist', hosts: [`127.0.0.1:${origin.port}`, 'localhost'] });
      const before = records.length;
      const r = await inGuest(`wget -q -O- http://localhost/hello 2>&1; echo "rc=$?"`);
      expect(r.stdout).toMatch(/403/);
      await until(() => records.length === before + 1);
      expect(records.at(-1)).toMatchObject({ host: 'localhost', port: 80, decision: 'blocked-private-address' });
    });

    it.runIf(pre.ok)('keeps the log with the task on disk, exportable as JSON lines', async () => {
      await session.audit.flush();
      const onDisk = await readEgressLog(join(dataDir, 'tasks', TASK, EGRESS_LOG_FILE));
      expect(onDisk.problems).toEqual([]);
      expect(onDisk.records.map((r) => r.decision)).toEqual(records.filter((r) => r.taskId === TASK).map((r) => r.decision));
      expect(onDisk.records.length).toBeGreaterThanOrEqual(3);
    });

    it.runIf(pre.ok)('survives malformed input from the guest and keeps serving', async () => {
      const junk = await vm.run(`printf 'GARBAGE\\r\\n\\r\\n' | nc 127.0.0.1 3128`);
      expect(junk.stdout).toMatch(/^HTTP\/1.1 400 Bad Request/);
      const ok = await inGuest(`wget -q -O- http://127.0.0.1:${origin.port}/hello`);
      expect(ok.stdout).toBe('hello');
    });
  });
});

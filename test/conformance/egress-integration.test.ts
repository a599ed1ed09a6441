// Network egress wired through the core (issue 7) on real VMs: `viv run --allow`, and tasks of
// an app-like core whose blocked requests wait for the user's answer. Servers listen on the
// host's 127.0.0.1 only; the guest reaches them solely through the proxy's SSH forward.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EgressPromptInfo } from '../../app/shared/contract-schemas.js';
import type { Vivarium } from '../../app/main/core/vivarium.js';
import { startOrigin, type Origin } from '../../app/main/egress/egress-test-kit.js';
import { openCore, processesMentioning, runViv, scratch } from './core-support.js';

let base: { dir: string; cleanup: () => Promise<void> };
let origin: Origin;
let share: string;

beforeAll(async () => {
  base = await scratch('egress-int');
  share = join(base.dir, 'share');
  await mkdir(share);
  origin = await startOrigin();
});
afterAll(async () => {
  await origin?.close();
  expect(await processesMentioning(base.dir)).toEqual([]);
  await base.cleanup();
});

describe('viv run --allow', () => {
  it('fetches from an allowed 127.0.0.1:<port> with busybox wget through HTTP_PROXY', async () => {
    const r = await runViv(['run', '--allow', `127.0.0.1:${origin.port}`, share, '--', 'sh', '-c',
      `echo "proxy=$http_proxy"; wget -q -O- http://127.0.0.1:${origin.port}/hello`], join(base.dir, 'data'));
    expect(r.stderr).not.toContain('refused');
    expect(r).toMatchObject({ code: 0, stdout: 'proxy=http://127.0.0.1:3128\nhello' });
  });

  it('without --allow: no proxy in the environment, and a request sent to the proxy anyway is refused', async () => {
    const r = await runViv(['run', share, '--', 'sh', '-c',
      `echo "proxy=[$http_proxy]"; http_proxy=http://127.0.0.1:3128 wget -q -O- http://127.0.0.1:${origin.port}/hello; echo "rc=$?"`],
    join(base.dir, 'data'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^proxy=\[\]\nrc=1\n$/);
    expect(r.stderr).toContain(`viv: network: refused GET 127.0.0.1:${origin.port}: network access is off for this workspace`);
  });

  it('a host outside the allowlist is refused at once: nobody is there to ask', async () => {
    const r = await runViv(['run', '--allow', 'api.example.com', share, '--', 'sh', '-c',
      `wget -q -O- http://127.0.0.1:${origin.port}/hello; echo "rc=$?"`], join(base.dir, 'data'));
    expect(r.stdout).toBe('rc=1\n');
    expect(r.stderr).toMatch(new RegExp(`refused GET 127\\.0\\.0\\.1:${origin.port}: .*not in the workspace's allowlist; nobody is there to ask`));
  });

  it('a bad pattern exits 2 naming it, before any VM boots', async () => {
    const r = await runViv(['run', '--allow', 'bad host!', share, '--', 'true'], join(base.dir, 'data'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad host!');
  });
});

describe('tasks with the app-like core (prompts)', () => {
  let core: Vivarium;
  let ws: string;
  const prompts: EgressPromptInfo[] = [];

  beforeAll(async () => {
    core = await openCore(join(base.dir, 'app-data'));
    core.subscribe((e) => {
      if (e.event === 'egress:prompt') prompts.push(e.payload);
    });
    ws = (await core.createWorkspace(share, 'rw', false)).id;
    // Some unrelated host is allowed, so tasks get the proxy; the local server is not allowed.
    const snap = await core.setEgress(ws, { mode: 'allowlist', hosts: ['api.example.com'] });
    expect(snap.egress).toEqual({ mode: 'allowlist', hosts: ['api.example.com'] });
    await core.startVm(ws);
  });
  afterAll(async () => {
    await core?.close();
  });

  it('rejects a bad pattern naming it, and keeps the stored policy', async () => {
    await expect(core.setEgress(ws, { mode: 'allowlist', hosts: ['ok.example.com', 'no spaces.example'] })).rejects.toThrow(/no spaces\.example/);
    expect((await core.listWorkspaces()).find((w) => w.id === ws)?.egress).toEqual({ mode: 'allowlist', hosts: ['api.example.com'] });
  });

  it('"allow once" lets exactly that request through; the next one prompts again; the log shows both', async () => {
    const url = `http://127.0.0.1:${origin.port}/hello`;
    const t = await core.startTask(ws, `wget -q -O- ${url}; echo " rc=$?"; wget -q -O- ${url}; echo " rc=$?"`, null);
    const first = await promptFor(t.id, 0);
    expect(first).toMatchObject({ workspaceId: ws, taskId: t.id, host: '127.0.0.1', port: origin.port, method: 'GET', blockedAs: 'blocked-by-policy' });
    expect((await core.egressPrompts(ws)).map((p) => p.id)).toEqual([first.id]);
    expect(await core.answerEgress(ws, first.id, 'once')).toBe(true);
    expect(await core.answerEgress(ws, first.id, 'once')).toBe(false);
    const second = await promptFor(t.id, 1);
    expect(second.id).not.toBe(first.id);
    expect(await core.answerEgress(ws, second.id, 'deny')).toBe(true);
    const done = await core.tasks.waitFor(t.id);
    const out = (await core.readTaskOutput(t.id, 0, 4096)).data;
    expect(done.state).toBe('succeeded');
    expect(out).toMatch(/^hello rc=0\n[\s\S]* rc=1\n$/);
    const log = await core.egressLog(t.id);
    expect(log.records.map((r) => [r.decision, r.reason])).toEqual([
      ['allowed', 'allowed once by the user'],
      ['blocked-by-policy', expect.stringContaining('denied by the user')],
    ]);
    expect(log.records[0]).toMatchObject({ taskId: t.id, host: '127.0.0.1', port: origin.port, method: 'GET', status: 200 });
    expect(log.records[0]!.bytesDown).toBeGreaterThan(0);
    const exported = (await core.exportEgressLog(t.id)).jsonLines;
    expect(exported.trim().split('\n').map((l) => (JSON.parse(l) as { decision: string }).decision)).toEqual(['allowed', 'blocked-by-policy']);
  });

  it('"allow always" stores host:port in the workspace policy (state.json) and later requests pass', async () => {
    const url = `http://127.0.0.1:${origin.port}/hello`;
    const t = await core.startTask(ws, `wget -q -O- ${url} && wget -q -O- ${url}`, null);
    const p = await promptFor(t.id, 0);
    expect(await core.answerEgress(ws, p.id, 'always')).toBe(true);
    const done = await core.tasks.waitFor(t.id);
    expect(done.state).toBe('succeeded');
    expect((await core.readTaskOutput(t.id, 0, 4096)).data).toBe('hellohello');
    expect(prompts.filter((x) => x.taskId === t.id)).toHaveLength(1);
    const stored = JSON.parse(await readFile(join(base.dir, 'app-data', 'state.json'), 'utf8')) as { workspaces: Array<{ egress: unknown }> };
    expect(stored.workspaces[0]!.egress).toEqual({ mode: 'allowlist', hosts: ['api.example.com', `127.0.0.1:${origin.port}`] });
  });

  /** The `index`-th prompt raised by a task (waits up to 60 s: the guest runs under TCG). */
  async function promptFor(taskId: string, index: number): Promise<EgressPromptInfo> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const mine = prompts.filter((p) => p.taskId === taskId);
      if (mine[index]) return mine[index]!;
      if (Date.now() > deadline) throw new Error(`no prompt #${index} for task ${taskId} (got ${mine.length})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});
